// Email flows (verification, password reset, magic link) driven by better-auth's client against
// authkeep and against a real better-auth 1.7.25, both mailing a real SMTP server; the
// normalised exchanges must match. Then links issued by one server are followed on the other,
// over one shared database and secret.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Browser, normalizeTranscript } from "../harness/browser.mjs";
import { startMailbox } from "../harness/mailbox.mjs";
import { authkeepEmailEnv, createPgDatabase, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";

const PASSWORD = "password1234";
let mailbox;
const dbs = [];
const servers = [];

async function verifiedUser(server, email) {
  const b = new Browser(server);
  await b.client.signUp.email({ email, password: PASSWORD, name: "Mail" });
  await b.fetch(await mailbox.link(email));
  return b;
}

const scenarios = [
  {
    name: "sign-up with required verification, then the link signs in",
    async run(server) {
      const b = new Browser(server);
      const up = await b.client.signUp.email({ email: "v@example.com", password: PASSWORD, name: "V", callbackURL: "/welcome" });
      assert.equal(up.data.token, null);
      const inn = await b.client.signIn.email({ email: "v@example.com", password: PASSWORD });
      assert.equal(inn.error.code, "EMAIL_NOT_VERIFIED");
      const link = await mailbox.link("v@example.com");
      assert.match(link, /\/verify-email\?token=.+&callbackURL=%2Fwelcome$/);
      const r = await b.fetch(link);
      assert.equal(r.status, 302);
      assert.equal(r.headers.get("location"), "/welcome");
      assert.equal((await b.client.getSession()).data.user.emailVerified, true);
      const bad = await b.client.verifyEmail({ query: { token: "not-a-token" } });
      assert.equal(bad.error.code, "INVALID_TOKEN");
      return b.transcript;
    },
  },
  {
    name: "password reset by email",
    async run(server) {
      const b = await verifiedUser(server, "r@example.com");
      b.transcript.length = 0;
      const req = await b.client.requestPasswordReset({ email: "r@example.com", redirectTo: "/reset" });
      assert.equal(req.data.status, true);
      const nobody = await b.client.requestPasswordReset({ email: "nobody@example.com", redirectTo: "/reset" });
      assert.deepEqual(nobody.data, req.data);
      const r = await b.fetch(await mailbox.link("r@example.com"));
      assert.equal(r.status, 302);
      const token = new URL(r.headers.get("location")).searchParams.get("token");
      assert.ok(token);
      assert.equal((await b.client.resetPassword({ newPassword: "a-new-password", token })).data.status, true);
      assert.equal((await b.client.resetPassword({ newPassword: "a-new-password", token })).error.code, "INVALID_TOKEN");
      const fresh = new Browser(server);
      assert.equal((await fresh.client.signIn.email({ email: "r@example.com", password: "a-new-password" })).error, null);
      return [...b.transcript, ...fresh.transcript];
    },
  },
  {
    name: "magic link",
    async run(server) {
      const b = new Browser(server);
      const sent = await b.client.signIn.magicLink({ email: "m@example.com", callbackURL: "/dash", newUserCallbackURL: "/welcome" });
      assert.deepEqual(sent.data, { status: true });
      const link = await mailbox.link("m@example.com");
      const r = await b.fetch(link);
      assert.equal(r.status, 302);
      assert.match(r.headers.get("location"), /\/welcome$/);
      assert.equal((await b.client.getSession()).data.user.email, "m@example.com");
      const again = await new Browser(server).fetch(link);
      assert.match(again.headers.get("location"), /\/dash\?error=INVALID_TOKEN$/);
      return b.transcript;
    },
  },
  {
    name: "email OTP: sign-in, attempts, verification and reset",
    async run(server) {
      const b = new Browser(server);
      assert.deepEqual((await b.client.emailOtp.sendVerificationOtp({ email: "o@example.com", type: "sign-in" })).data, { success: true });
      const code = await mailbox.code("o@example.com");
      const wrong = code === "000000" ? "111111" : "000000";
      assert.equal((await b.client.signIn.emailOtp({ email: "o@example.com", otp: wrong })).error.code, "INVALID_OTP");
      const inn = await b.client.signIn.emailOtp({ email: "o@example.com", otp: code });
      assert.equal(inn.data.user.emailVerified, true);
      assert.equal((await b.client.getSession()).data.user.email, "o@example.com");
      await b.client.emailOtp.sendVerificationOtp({ email: "o@example.com", type: "sign-in" });
      const burnt = await mailbox.code("o@example.com");
      const bad = burnt === "000000" ? "111111" : "000000";
      for (let i = 0; i < 3; i++) await b.client.signIn.emailOtp({ email: "o@example.com", otp: bad });
      assert.equal((await b.client.signIn.emailOtp({ email: "o@example.com", otp: burnt })).error.code, "TOO_MANY_ATTEMPTS");
      await b.client.emailOtp.requestPasswordReset({ email: "o@example.com" });
      const resetCode = await mailbox.code("o@example.com");
      assert.deepEqual((await b.client.emailOtp.resetPassword({ email: "o@example.com", otp: resetCode, password: "otp-password-1" })).data, { success: true });
      assert.equal((await new Browser(server).client.signIn.email({ email: "o@example.com", password: "otp-password-1" })).error, null);
      return b.transcript;
    },
  },
  {
    name: "change of email, confirmed by the new address",
    async run(server) {
      const b = await verifiedUser(server, "c1@example.com");
      b.transcript.length = 0;
      assert.equal((await b.client.changeEmail({ newEmail: "c1@example.com" })).error.message, "Email is the same");
      assert.deepEqual((await b.client.changeEmail({ newEmail: "c2@example.com", callbackURL: "/profile" })).data, { status: true });
      const r = await b.fetch(await mailbox.link("c2@example.com"));
      assert.equal(r.status, 302);
      assert.equal(r.headers.get("location"), "/profile");
      const user = (await b.client.getSession()).data.user;
      assert.equal(user.email, "c2@example.com");
      assert.equal(user.emailVerified, true);
      return b.transcript;
    },
  },
  {
    name: "account deletion, confirmed by email",
    async run(server) {
      const b = await verifiedUser(server, "d1@example.com");
      b.transcript.length = 0;
      const asked = await b.client.deleteUser({ callbackURL: "/bye" });
      assert.deepEqual(asked.data, { success: true, message: "Verification email sent" });
      const link = await mailbox.link("d1@example.com");
      assert.match(link, /\/delete-user\/callback\?token=[a-z0-9]+&callbackURL=%2Fbye$/);
      const r = await b.fetch(link);
      assert.equal(r.status, 302);
      assert.equal(r.headers.get("location"), "/bye");
      assert.equal((await b.client.getSession()).data, null);
      return b.transcript;
    },
  },
];

describe("email flows: authkeep and better-auth answer alike", () => {
  let reference, authkeep;

  before(async () => {
    mailbox = await startMailbox();
    const [a, b] = [await createPgDatabase(), await createPgDatabase()];
    dbs.push(a, b);
    [reference, authkeep] = await Promise.all([
      startBetterAuth({ databaseUrl: a.url, env: { SMTP_PORT: String(mailbox.port) } }),
      startAuthkeep({ databaseUrl: b.url, env: authkeepEmailEnv(mailbox.port) }),
    ]);
    servers.push(reference, authkeep);
  });

  for (const s of scenarios) {
    test(s.name, async () => {
      const expected = normalizeTranscript(await s.run(reference));
      const got = normalizeTranscript(await s.run(authkeep));
      assert.equal(got.length, expected.length, "number of requests");
      got.forEach((entry, i) => assert.deepEqual(entry, expected[i], `exchange ${i} (${entry.request})`));
    });
  }
});

describe("links issued by one server work on the other (shared database and secret)", () => {
  let ba, ak;

  before(async () => {
    const db = await createPgDatabase();
    dbs.push(db);
    ba = await startBetterAuth({ databaseUrl: db.url, env: { SMTP_PORT: String(mailbox.port) } });
    ak = await startAuthkeep({ databaseUrl: db.url, env: authkeepEmailEnv(mailbox.port) });
    servers.push(ba, ak);
  });

  const moveTo = (link, server) => link.replace(/^https?:\/\/127\.0\.0\.1:\d+/, server.origin);

  test("verification links", async () => {
    await new Browser(ba).client.signUp.email({ email: "x1@example.com", password: PASSWORD, name: "X" });
    const onAk = new Browser(ak);
    assert.equal((await onAk.fetch(moveTo(await mailbox.link("x1@example.com"), ak))).status, 302);
    assert.equal((await onAk.client.getSession()).data.user.emailVerified, true);

    await new Browser(ak).client.signUp.email({ email: "x2@example.com", password: PASSWORD, name: "X" });
    const onBa = new Browser(ba);
    assert.equal((await onBa.fetch(moveTo(await mailbox.link("x2@example.com"), ba))).status, 302);
    assert.equal((await onBa.client.getSession()).data.user.emailVerified, true);
  });

  test("password reset links", async () => {
    await verifiedUser(ba, "x3@example.com");
    await new Browser(ak).client.requestPasswordReset({ email: "x3@example.com", redirectTo: "/reset" });
    const token = (await mailbox.link("x3@example.com")).split("/reset-password/")[1].split("?")[0];
    assert.equal((await new Browser(ba).client.resetPassword({ newPassword: "reset-on-ba", token })).data.status, true);
    assert.equal((await new Browser(ak).client.signIn.email({ email: "x3@example.com", password: "reset-on-ba" })).error, null);

    await new Browser(ba).client.requestPasswordReset({ email: "x3@example.com", redirectTo: "/reset" });
    const token2 = (await mailbox.link("x3@example.com")).split("/reset-password/")[1].split("?")[0];
    assert.equal((await new Browser(ak).client.resetPassword({ newPassword: "reset-on-ak", token: token2 })).data.status, true);
    assert.equal((await new Browser(ba).client.signIn.email({ email: "x3@example.com", password: "reset-on-ak" })).error, null);
  });

  test("magic links", async () => {
    await new Browser(ba).client.signIn.magicLink({ email: "x4@example.com", callbackURL: "/in" });
    const onAk = new Browser(ak);
    assert.equal((await onAk.fetch(moveTo(await mailbox.link("x4@example.com"), ak))).status, 302);
    assert.equal((await onAk.client.getSession()).data.user.email, "x4@example.com");
    await new Browser(ak).client.signIn.magicLink({ email: "x4@example.com", callbackURL: "/in" });
    const onBa = new Browser(ba);
    assert.equal((await onBa.fetch(moveTo(await mailbox.link("x4@example.com"), ba))).status, 302);
    assert.equal((await onBa.client.getSession()).data.user.email, "x4@example.com");
  });
});

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await mailbox?.close();
  await Promise.all(dbs.map((d) => d.drop()));
});
