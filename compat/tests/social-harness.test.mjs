// Proves the social sign-in harness: a real better-auth 1.7.25 completes sign-in with the real
// OpenID Connect provider (oidc-provider, through the generic-oauth plugin) and with the Google
// and GitHub stand-ins, over plain HTTP (sign-in/social -> authorize -> callback -> session), and
// in a real Chromium driven by Playwright.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { Browser } from "../harness/browser.mjs";
import { query } from "../harness/catalog.mjs";
import { browserRoute } from "../harness/fetch-redirect.mjs";
import { CookieJar } from "../harness/http-jar.mjs";
import { createPgDatabase } from "../harness/servers.mjs";
import { signInSocial, startSocialStack } from "../harness/social.mjs";

const CHROMIUM = process.env.AUTHKEEP_TEST_CHROMIUM ?? "/usr/bin/chromium";
let db;
let stack;

before(async () => {
  db = await createPgDatabase();
  stack = await startSocialStack({ databaseUrl: db.url });
});

after(async () => {
  await stack?.stop();
  await db?.drop();
});

async function session(b) {
  const r = await b.fetch(`${stack.server.baseURL}/get-session`);
  return r.json();
}

const expected = {
  idp: { email: "verified@idp.test", accountId: "verified", host: () => stack.idp.issuer },
  google: { email: "verified@google.test", accountId: "100000000000000000001", host: () => "https://accounts.google.com" },
  github: { email: "public@github.test", accountId: "1001", host: () => "https://github.com" },
};

describe("HTTP-only sign-in through each provider", () => {
  for (const provider of ["idp", "google", "github"]) {
    test(provider, async () => {
      const b = new Browser(stack.server);
      const r = await signInSocial(b, stack, provider, { body: { callbackURL: "/dashboard", newUserCallbackURL: "/welcome" } });
      assert.equal(r.start.status, 200);
      assert.equal(r.start.body.redirect, true);
      assert.equal(r.start.headers.location, r.start.body.url);
      assert.ok(r.authorizeUrl.startsWith(`${expected[provider].host()}/`), r.authorizeUrl);
      assert.ok(r.start.setCookies.some((c) => c.startsWith("better-auth.state=")));
      const cb = new URL(r.callbackUrl);
      assert.equal(cb.pathname, `/api/auth/callback/${provider}`);
      assert.ok(cb.searchParams.get("code"));
      assert.equal(cb.searchParams.get("state"), new URL(r.authorizeUrl).searchParams.get("state"));
      assert.equal(r.callback.status, 302);
      assert.equal(r.callback.headers.get("location"), "/welcome");
      const s = await session(b);
      assert.equal(s.user.email, expected[provider].email);
      const rows = await query(db.url, `select "accountId", "accessToken" from account where "providerId" = '${provider}'`);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].accountId, expected[provider].accountId);
      assert.ok(rows[0].accessToken);

      // The same person again is a returning user: the plain callbackURL this time.
      const again = new Browser(stack.server);
      const r2 = await signInSocial(again, stack, provider, { body: { callbackURL: "/dashboard", newUserCallbackURL: "/welcome" } });
      assert.equal(r2.callback.headers.get("location"), "/dashboard");
    });
  }

  test("cancelling at the provider comes back as error=access_denied", async () => {
    for (const provider of ["idp", "google", "github"]) {
      const b = new Browser(stack.server);
      const r = await signInSocial(b, stack, provider, { body: { callbackURL: "/dashboard", errorCallbackURL: "/oops" }, cancel: true });
      assert.equal(new URL(r.callbackUrl).searchParams.get("error"), "access_denied");
      assert.equal(r.callback.status, 302);
      assert.match(r.callback.headers.get("location"), /^\/oops\?error=access_denied/);
    }
  });
});

test("sign-out of an IdP session hands back the IdP's end_session URL, which the IdP honours", async () => {
  const b = new Browser(stack.server);
  const idpJar = new CookieJar();
  await signInSocial(b, stack, "idp", { body: { callbackURL: "/dashboard" }, jar: idpJar });
  const r = await b.fetch(`${stack.server.baseURL}/sign-out`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ callbackURL: "/app/done", state: "s1" }) });
  const body = await r.json();
  assert.equal(body.success, true);
  assert.equal(body.redirect, true);
  assert.equal(r.headers.get("location"), body.url);
  const end = new URL(body.url);
  assert.equal(`${end.origin}${end.pathname}`, `${stack.idp.issuer}/session/end`);
  assert.ok(end.searchParams.get("id_token_hint"));
  assert.equal(end.searchParams.get("post_logout_redirect_uri"), `${stack.server.origin}/app/done`);
  assert.equal(await stack.idp.logoutHttp(body.url, { jar: idpJar }), `${stack.server.origin}/app/done?state=s1`);
});

test("in Chromium: the IdP's login form, and Google through a routed authorize URL", async (t) => {
  if (!existsSync(CHROMIUM)) {
    const msg = `${CHROMIUM} is missing (apt-get install -y chromium); the browser run is skipped`;
    if (process.env.AUTHKEEP_TEST_REQUIRE_SERVICES) assert.fail(msg);
    t.skip(msg);
    return;
  }
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    // OpenID Connect provider: type the account id into its login form and submit.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.server.origin}/app`);
    await page.click("#sign-in-idp");
    await page.waitForURL((u) => u.href.startsWith(`${stack.idp.issuer}/interaction/`));
    await page.fill("#login", "verified");
    await page.click("#submit");
    await page.waitForURL(`${stack.server.origin}/app/done`);
    await page.waitForFunction(() => document.getElementById("session")?.textContent.includes("@"));
    const s = JSON.parse(await page.textContent("#session"));
    assert.equal(s.user.email, "verified@idp.test");
    await context.close();

    // Google: the browser is sent from accounts.google.com to the stand-in by a route.
    const gctx = await browser.newContext();
    const gpage = await gctx.newPage();
    await browserRoute(gpage, stack.hosts);
    await gpage.goto(`${stack.server.origin}/app`);
    await gpage.click("#sign-in-google");
    await gpage.waitForURL((u) => u.href.startsWith(`${stack.google.origin}/o/oauth2/v2/auth`));
    await gpage.click('button[data-sub="100000000000000000001"]');
    await gpage.waitForURL(`${stack.server.origin}/app/done`);
    await gpage.waitForFunction(() => document.getElementById("session")?.textContent.includes("@"));
    assert.equal(JSON.parse(await gpage.textContent("#session")).user.email, "verified@google.test");
    await gctx.close();
  } finally {
    await browser.close();
  }
});
