// A real SMTP server (smtp-server from npm) on a free loopback port that keeps every message,
// so tests can read what authkeep and better-auth mailed and follow the links.
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";

export async function startMailbox() {
  const messages = [];
  const waiters = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, done) {
      simpleParser(stream).then((mail) => {
        const message = { to: mail.to?.value?.[0]?.address, subject: mail.subject, text: mail.text ?? "" };
        messages.push(message);
        waiters.splice(0).forEach((w) => w());
        done();
      }, done);
    },
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.server.address().port;

  /** The next message to `to`, removed from the box. */
  async function next(to, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = messages.findIndex((m) => m.to === to);
      if (i >= 0) return messages.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`no mail for ${to}`);
      await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
    }
  }

  /** The first URL in the next message to `to`. */
  async function link(to) {
    const m = await next(to);
    const url = /https?:\/\/\S+/.exec(m.text)?.[0];
    if (!url) throw new Error(`no link in mail to ${to}: ${m.text}`);
    return url;
  }

  /** The six-digit code in the subject of the next message to `to`. */
  async function code(to) {
    const m = await next(to);
    const found = /\b(\d{6})\b/.exec(m.subject ?? "")?.[1];
    if (!found) throw new Error(`no code in mail to ${to}: ${m.subject}`);
    return found;
  }

  return { port, next, link, code, messages, close: () => new Promise((r) => server.close(r)) };
}
