// Cookies for real deployments, in a real headless Chromium with better-auth 1.7.25's browser
// client talking to authkeep directly (CORS, credentials included), as a frontend on its own
// origin does:
//   same site   the page on http://127.0.0.1:<p>, authkeep on http://127.0.0.1:<q>: the default
//               SameSite=Lax cookies work;
//   cross site  the page on http://localhost:<p> (another site): Lax cookies are not kept, and
//               `same_site = "none"` alone (which brings Secure and Partitioned) makes the
//               session stick; `SameSite=None; Secure` without Partitioned is dropped, as
//               Chromium blocks third-party cookies (which is why authkeep adds Partitioned).
//
// Needs /usr/bin/chromium (or AUTHKEEP_TEST_CHROMIUM): skipped without it, failed without it
// when AUTHKEEP_TEST_REQUIRE_SERVICES is set.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { chromiumMissing, launchChromium } from "../harness/chromium.mjs";
import { bundleClient } from "../harness/app-server.mjs";
import { createPgDatabase, freePort, startAuthkeep } from "../harness/servers.mjs";

const missing = chromiumMissing;
if (missing && process.env.AUTHKEEP_TEST_REQUIRE_SERVICES) {
  test("Chromium is installed for the browser tests", () => assert.fail(missing));
}

/** A static frontend: its page loads better-auth's client pointed at `authOrigin`. */
async function startFrontend(authOrigin) {
  const script = await bundleClient(authOrigin);
  const port = await freePort();
  const server = http.createServer((req, res) => {
    if (req.url === "/client.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(script);
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><title>frontend</title><script src="/client.js"></script>
<script>window.appReady = typeof window.authClient !== "undefined";</script>`);
  });
  // Every address (dual stack), so both http://localhost and http://127.0.0.1 reach it.
  await new Promise((r) => server.listen(port, r));
  return { port, stop: () => new Promise((r) => server.close(r)) };
}

describe("cookies for same-site and cross-site frontends in Chromium", { skip: missing ?? false }, () => {
  let db, browser, frontends = [], servers = [];

  before(async () => {
    db = await createPgDatabase();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await Promise.all([...frontends, ...servers].map((s) => s.stop()));
    await db?.drop();
  });

  /** authkeep with `env`, and a frontend for it; the page origins it trusts are both names of it. */
  async function arrangement(env = {}) {
    const akPort = await freePort();
    const authOrigin = `http://127.0.0.1:${akPort}`;
    const frontend = await startFrontend(authOrigin);
    frontends.push(frontend);
    const pages = { sameSite: `http://127.0.0.1:${frontend.port}`, crossSite: `http://localhost:${frontend.port}` };
    const ak = await startAuthkeep({
      databaseUrl: db.url,
      port: akPort,
      env: { BETTER_AUTH_TRUSTED_ORIGINS: `${pages.sameSite},${pages.crossSite}`, ...env },
    });
    servers.push(ak);
    return pages;
  }

  /** Signs up in a fresh browser context from `pageOrigin`, reloads, and reads the session. */
  async function journey(pageOrigin, email) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${pageOrigin}/`);
      await page.waitForFunction(() => window.appReady === true);
      const signUp = await page.evaluate(async (email) => {
        const r = await window.authClient.signUp.email({ email, password: "password1234", name: "Browser" });
        return { error: r.error, email: r.data?.user?.email };
      }, email);
      assert.equal(signUp.error, null, JSON.stringify(signUp.error));
      assert.equal(signUp.email, email);
      await page.reload();
      await page.waitForFunction(() => window.appReady === true);
      const session = await page.evaluate(async () => (await window.authClient.getSession()).data?.user?.email ?? null);
      let signedOut = null;
      if (session) {
        signedOut = await page.evaluate(async () => {
          await window.authClient.signOut();
          return (await window.authClient.getSession()).data;
        });
      }
      return { session, signedOut };
    } finally {
      await context.close();
    }
  }

  test("same site: the default SameSite=Lax session survives a reload and signs out", async () => {
    const pages = await arrangement();
    const r = await journey(pages.sameSite, "same-site@example.com");
    assert.equal(r.session, "same-site@example.com");
    assert.equal(r.signedOut, null);
  });

  test("cross site with the default cookies: the session is not kept (this is what same_site = none is for)", async () => {
    const pages = await arrangement();
    const r = await journey(pages.crossSite, "cross-lax@example.com");
    assert.equal(r.session, null);
  });

  test("cross site with same_site = none: Secure and Partitioned come with it, and the session sticks", async () => {
    const pages = await arrangement({ AUTHKEEP_ADVANCED__DEFAULT_COOKIE_ATTRIBUTES__SAME_SITE: "none" });
    const r = await journey(pages.crossSite, "cross-none@example.com");
    assert.equal(r.session, "cross-none@example.com");
    assert.equal(r.signedOut, null, "sign-out clears the partitioned cookie too");
  });

  test("cross site with SameSite=None; Secure but not Partitioned: Chromium drops it as a third-party cookie", async () => {
    const pages = await arrangement({
      AUTHKEEP_ADVANCED__DEFAULT_COOKIE_ATTRIBUTES__SAME_SITE: "none",
      AUTHKEEP_ADVANCED__DEFAULT_COOKIE_ATTRIBUTES__PARTITIONED: "false",
    });
    const r = await journey(pages.crossSite, "cross-unpartitioned@example.com");
    assert.equal(r.session, null);
  });

  test("cross site with the cookie cache on: the partitioned session_data is read back too", async () => {
    const pages = await arrangement({
      AUTHKEEP_ADVANCED__DEFAULT_COOKIE_ATTRIBUTES__SAME_SITE: "none",
      AUTHKEEP_SESSION__COOKIE_CACHE__ENABLED: "true",
    });
    const r = await journey(pages.crossSite, "cross-cache@example.com");
    assert.equal(r.session, "cross-cache@example.com");
    assert.equal(r.signedOut, null);
  });
});
