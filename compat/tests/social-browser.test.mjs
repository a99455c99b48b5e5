// Social sign-in journeys in a real headless Chromium, driven by better-auth 1.7.25's own browser
// client (`createAuthClient` from better-auth/client, with its built-in redirect plugin) against
// authkeep. authkeep sits same-origin behind a tiny app (harness/app-server.mjs), as it would
// behind a Next.js rewrite or nginx; its public URL is the app's origin. The providers are the
// real OpenID Connect provider "idp" (login form), the Google stand-in (account chooser) and the
// GitHub stand-in (authorize page) from harness/social.mjs; the browser really goes to their
// pages and back. Expected URLs are better-auth's (/work/research-social/FINDINGS.md §2, §4-§7).
//
// Needs /usr/bin/chromium (or AUTHKEEP_TEST_CHROMIUM): skipped without it, failed without it
// when AUTHKEEP_TEST_REQUIRE_SERVICES is set.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { chromiumMissing, launchChromium } from "../harness/chromium.mjs";
import { startAuthkeepBehindApp } from "../harness/app-server.mjs";
import { query } from "../harness/catalog.mjs";
import { createPgDatabase } from "../harness/servers.mjs";

const missing = chromiumMissing;
if (missing && process.env.AUTHKEEP_TEST_REQUIRE_SERVICES) {
  test("Chromium is installed for the browser journeys", () => assert.fail(missing));
}

// The IdP's access tokens live 3 s, so the refresh journey can wait one out (better-auth, and so
// authkeep, refresh when fewer than 5 s are left; nothing else here looks at the IdP's expiry).
const IDP_ACCESS_TOKEN_TTL = 3;
const WAIT = 20_000; // for one URL or selector; a journey has a handful of them

describe("social sign-in in Chromium: better-auth's client, authkeep behind the app", { skip: missing ?? false }, () => {
  let db; // authkeep's database
  let stackDb; // the social stack's own better-auth (started by startSocialStack, unused here)
  let env; // { app, authkeep, stack, stop }
  let browser;
  let app;
  let idp;
  let google;
  let github;

  before(async () => {
    db = await createPgDatabase();
    stackDb = await createPgDatabase();
    env = await startAuthkeepBehindApp({
      databaseUrl: db.url,
      stackOptions: { databaseUrl: stackDb.url, idp: { standin: { accessTokenTTL: IDP_ACCESS_TOKEN_TTL } } },
    });
    ({ app } = env);
    ({ idp, google, github } = env.stack);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await env?.stop();
    await db?.drop();
    await stackDb?.drop();
  });

  /** A fresh browser profile (no cookies anywhere) on the app's page; closed by `t.after`. */
  async function openApp(t, path = "/") {
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.log = [];
    page.on("console", (m) => page.log.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => page.log.push(`pageerror: ${e.message}`));
    await page.goto(`${app.origin}${path}`);
    await page.waitForFunction(() => window.appReady === true);
    return page;
  }

  /**
   * Starts a client call that navigates away (the redirect plugin sets location.href), without
   * awaiting it in the page: the navigation would tear down the evaluation. A failed call is
   * logged to the page console, which `landOn` reports.
   */
  async function startCall(page, method, body) {
    await page.evaluate(([m, b]) => {
      const fn = m.split(".").reduce((o, k) => o[k], window.authClient);
      fn(b).then(
        (r) => { if (r?.error) console.error(`authClient.${m} -> ${JSON.stringify(r.error)}`); },
        (e) => console.error(`authClient.${m} threw ${e}`),
      );
    }, [method, body]);
  }

  /** Awaits a client call in the page and returns its { data, error }. */
  function call(page, method, body) {
    return page.evaluate(async ([m, b]) => {
      const fn = m.split(".").reduce((o, k) => o[k], window.authClient);
      const r = await fn(b);
      return { data: r.data ?? null, error: r.error ?? null };
    }, [method, body]);
  }

  async function waitFor(page, what, predicate) {
    try {
      await page.waitForURL(predicate);
    } catch (err) {
      throw new Error(`waiting for ${what}, the browser is at ${page.url()}\n${page.log.join("\n")}\n${err.message}`);
    }
  }

  /** Waits until the browser is exactly at `url`, then checks the app page (or authkeep's) is there. */
  async function landOn(page, url) {
    await waitFor(page, url, (u) => u.href === url);
    assert.equal(page.url(), url);
  }

  async function session(page) {
    await page.waitForFunction(() => window.appReady === true);
    return (await call(page, "getSession")).data;
  }

  async function idpLogin(page, accountId) {
    await waitFor(page, "the IdP's login form", (u) => u.href.startsWith(`${idp.issuer}/interaction/`));
    await page.fill("#login", accountId);
    await page.click("#submit");
  }

  async function googleChoose(page, sub) {
    await waitFor(page, "Google's account chooser", (u) => u.href.startsWith(`${google.origin}/o/oauth2/v2/auth?`));
    await page.click(`button[data-sub="${sub}"]`);
  }

  const sql = (text) => query(db.url, text);
  const accountsOf = (userId) => sql(`select id, "providerId", "accountId", "accessToken", "accessTokenExpiresAt", "idToken" from account where "userId" = '${userId}' order by "providerId"`);

  test("new user through the IdP's login form lands on newUserCallbackURL; a returning one on callbackURL, same user", async (t) => {
    idp.addAccount({ id: "ines", email: "ines@idp.test", email_verified: true, name: "Ines Idp" });
    const body = { provider: "idp", callbackURL: "/dashboard", newUserCallbackURL: "/welcome", errorCallbackURL: "/oops" };

    const page = await openApp(t);
    await startCall(page, "signIn.social", body);
    await idpLogin(page, "ines");
    await landOn(page, `${app.origin}/welcome`);
    const first = await session(page);
    assert.equal(first?.user?.email, "ines@idp.test");
    assert.equal(first.user.name, "Ines Idp");
    assert.equal(first.user.emailVerified, true);

    // Another browser: no authkeep session, no IdP session; the IdP asks again.
    const again = await openApp(t);
    await startCall(again, "signIn.social", body);
    await idpLogin(again, "ines");
    await landOn(again, `${app.origin}/dashboard`);
    const second = await session(again);
    assert.equal(second?.user?.id, first.user.id);
    assert.notEqual(second.session.token, first.session.token);
    const rows = await accountsOf(first.user.id);
    assert.deepEqual(rows.map((r) => [r.providerId, r.accountId]), [["idp", "ines"]]);
  });

  test("new user through Google's account chooser lands on newUserCallbackURL; a returning one on callbackURL, same user", async (t) => {
    const sub = "100000000000000000031";
    google.addUser({ sub, email: "gus@google.test", email_verified: true, name: "Gus Google", given_name: "Gus", family_name: "Google", picture: "https://lh3.googleusercontent.com/a/gus" });
    const body = { provider: "google", callbackURL: "/dashboard", newUserCallbackURL: "/welcome", errorCallbackURL: "/oops" };

    const page = await openApp(t);
    await startCall(page, "signIn.social", body);
    await googleChoose(page, sub);
    await landOn(page, `${app.origin}/welcome`);
    const first = await session(page);
    assert.equal(first?.user?.email, "gus@google.test");
    assert.equal(first.user.image, "https://lh3.googleusercontent.com/a/gus");

    const again = await openApp(t);
    await startCall(again, "signIn.social", body);
    await googleChoose(again, sub);
    await landOn(again, `${app.origin}/dashboard`);
    assert.equal((await session(again))?.user?.id, first.user.id);
  });

  test("cancelling at the provider lands on errorCallbackURL with error=access_denied", async (t) => {
    const body = (provider) => ({ provider, callbackURL: "/dashboard", newUserCallbackURL: "/welcome", errorCallbackURL: "/oops" });

    const page = await openApp(t);
    await startCall(page, "signIn.social", body("idp"));
    await waitFor(page, "the IdP's login form", (u) => u.href.startsWith(`${idp.issuer}/interaction/`));
    await page.click("#cancel");
    await landOn(page, `${app.origin}/oops?error=access_denied&error_description=End-User+aborted+interaction`);

    await page.goto(`${app.origin}/`);
    await startCall(page, "signIn.social", body("google"));
    await waitFor(page, "Google's account chooser", (u) => u.href.startsWith(`${google.origin}/o/oauth2/v2/auth?`));
    await page.click("#cancel");
    await landOn(page, `${app.origin}/oops?error=access_denied`);

    await page.goto(`${app.origin}/`);
    await startCall(page, "signIn.social", body("github"));
    await waitFor(page, "GitHub's authorize page", (u) => u.href.startsWith(`${github.origin}/login/oauth/authorize?`));
    await page.click("#cancel");
    // GitHub's error_uri is dropped, its description kept.
    await landOn(page, `${app.origin}/oops?error=access_denied&error_description=The+user+has+denied+your+application+access.`);

    assert.equal(await session(page), null);
  });

  test("an unverified email/password user with the provider's email is not linked: error=account_not_linked", async (t) => {
    idp.addAccount({ id: "carol", email: "carol@idp.test", email_verified: true, name: "Carol Idp" });
    const local = await openApp(t);
    const signUp = await call(local, "signUp.email", { email: "carol@idp.test", password: "carol-password-123", name: "Carol Local" });
    assert.equal(signUp.error, null, JSON.stringify(signUp.error));
    assert.equal(signUp.data.user.emailVerified, false);

    const page = await openApp(t);
    await startCall(page, "signIn.social", { provider: "idp", callbackURL: "/dashboard", errorCallbackURL: "/oops" });
    await idpLogin(page, "carol");
    await landOn(page, `${app.origin}/oops?error=account_not_linked`);
    assert.equal(await session(page), null);
    const rows = await accountsOf(signUp.data.user.id);
    assert.deepEqual(rows.map((r) => r.providerId), ["credential"]);
  });

  test("a forged state and a replayed callback URL end on the error page with error=state_mismatch", async (t) => {
    const page = await openApp(t);
    await page.goto(`${app.origin}/api/auth/callback/idp?code=x&state=forged`);
    await landOn(page, `${app.origin}/api/auth/error?error=state_mismatch`);
    assert.equal(await page.context().cookies(app.origin).then((cs) => cs.some((c) => c.name.endsWith("session_token"))), false);

    // A real sign-in whose callback URL (code and state) is captured on its way to authkeep ...
    idp.addAccount({ id: "rene", email: "rene@idp.test", email_verified: true, name: "Rene Replay" });
    const flow = await openApp(t);
    let callbackUrl;
    flow.on("request", (r) => { if (r.url().startsWith(`${app.origin}/api/auth/callback/idp?`)) callbackUrl ??= r.url(); });
    await startCall(flow, "signIn.social", { provider: "idp", callbackURL: "/dashboard", newUserCallbackURL: "/welcome", errorCallbackURL: "/oops" });
    await idpLogin(flow, "rene");
    await landOn(flow, `${app.origin}/welcome`);
    const user = (await session(flow))?.user;
    assert.equal(user?.email, "rene@idp.test");
    assert.ok(callbackUrl && new URL(callbackUrl).searchParams.get("code"), callbackUrl);

    // ... and sent again after it succeeded: its state is spent (and its cookie cleared).
    await flow.goto(callbackUrl);
    await landOn(flow, `${app.origin}/api/auth/error?error=state_mismatch`);
    // The replay neither signed anyone else in nor ended the session.
    await flow.goto(`${app.origin}/`);
    assert.equal((await session(flow))?.user?.id, user.id);
  });

  test("linking GitHub to a signed-in user, listing both accounts, unlinking one", async (t) => {
    const sub = "100000000000000000032";
    google.addUser({ sub, email: "lina@google.test", email_verified: true, name: "Lina Link", given_name: "Lina", family_name: "Link" });
    github.addUser({ id: 2032, login: "octo-lina", name: "Lina on GitHub", email: "lina@google.test", emails: [{ email: "lina@google.test", primary: true, verified: true, visibility: "public" }] });

    const page = await openApp(t);
    await startCall(page, "signIn.social", { provider: "google", callbackURL: "/dashboard", newUserCallbackURL: "/welcome" });
    await googleChoose(page, sub);
    await landOn(page, `${app.origin}/welcome`);
    const before = await session(page);
    assert.equal(before?.user?.email, "lina@google.test");

    await startCall(page, "linkSocial", { provider: "github", callbackURL: "/settings", errorCallbackURL: "/link-error" });
    await waitFor(page, "GitHub's authorize page", (u) => u.href.startsWith(`${github.origin}/login/oauth/authorize?`));
    await page.selectOption("select[name=user]", "octo-lina");
    await page.click("#authorize");
    await landOn(page, `${app.origin}/settings`);
    // Linking keeps the session it was started from.
    assert.equal((await session(page))?.session?.token, before.session.token);

    const listed = await call(page, "listAccounts");
    assert.equal(listed.error, null, JSON.stringify(listed.error));
    assert.deepEqual(listed.data.map((a) => [a.providerId, a.accountId, a.userId]).sort(), [
      ["github", "2032", before.user.id],
      ["google", sub, before.user.id],
    ]);
    const gh = listed.data.find((a) => a.providerId === "github");
    assert.deepEqual(gh.scopes, ["read:user", "user:email"]);

    const unlinked = await call(page, "unlinkAccount", { accountId: gh.id });
    assert.deepEqual(unlinked, { data: { status: true }, error: null });
    const after = await call(page, "listAccounts");
    assert.deepEqual(after.data.map((a) => a.providerId), ["google"]);

    // The last account stays.
    const last = await call(page, "unlinkAccount", { accountId: after.data[0].id });
    assert.equal(last.data, null);
    assert.equal(last.error.status, 400);
    assert.equal(last.error.code, "FAILED_TO_UNLINK_LAST_ACCOUNT");
  });

  test("getAccessToken refreshes an expired IdP access token", async (t) => {
    idp.addAccount({ id: "tara", email: "tara@idp.test", email_verified: true, name: "Tara Token" });
    const page = await openApp(t);
    await startCall(page, "signIn.social", { provider: "idp", callbackURL: "/dashboard", newUserCallbackURL: "/welcome" });
    await idpLogin(page, "tara");
    await landOn(page, `${app.origin}/welcome`);
    const user = (await session(page)).user;

    const listed = await call(page, "listAccounts");
    const row = listed.data.find((a) => a.providerId === "idp");
    assert.ok(row, JSON.stringify(listed));
    const [stored] = await accountsOf(user.id);
    const oldToken = stored.accessToken;
    const oldExpiry = new Date(stored.accessTokenExpiresAt).getTime();
    assert.ok(oldToken && oldExpiry, JSON.stringify(stored));

    const { userinfo_endpoint: userinfo } = await (await fetch(idp.discoveryUrl)).json();
    const ask = (token) => fetch(userinfo, { headers: { authorization: `Bearer ${token}` } });

    // Wait the token out (at most TTL + 1 s). (oidc-provider itself would still take it for its
    // 15 s clockTolerance, so the expiry is authkeep's stored accessTokenExpiresAt.)
    const wait = oldExpiry + 1000 - Date.now();
    assert.ok(wait <= 6000, `would wait ${wait} ms`);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));

    const got = await call(page, "getAccessToken", { accountId: row.id });
    assert.equal(got.error, null, JSON.stringify(got.error));
    assert.ok(got.data.accessToken);
    assert.notEqual(got.data.accessToken, oldToken);
    assert.ok(new Date(got.data.accessTokenExpiresAt).getTime() > oldExpiry, `${got.data.accessTokenExpiresAt} after ${stored.accessTokenExpiresAt}`);
    assert.deepEqual(got.data.scopes, ["openid", "email", "profile"]);
    assert.ok(got.data.idToken);
    const me = await ask(got.data.accessToken);
    assert.equal(me.status, 200);
    assert.equal((await me.json()).sub, "tara");
    const [now] = await accountsOf(user.id);
    assert.equal(now.accessToken, got.data.accessToken);
    assert.equal(new Date(now.accessTokenExpiresAt).toISOString(), new Date(got.data.accessTokenExpiresAt).toISOString());
  });

  test("signOut() of an IdP session: the client follows the answer to the IdP's end-session page", async (t) => {
    idp.addAccount({ id: "lou", email: "lou@idp.test", email_verified: true, name: "Lou Logout" });
    const page = await openApp(t);
    await startCall(page, "signIn.social", { provider: "idp", callbackURL: "/dashboard", newUserCallbackURL: "/welcome" });
    await idpLogin(page, "lou");
    await landOn(page, `${app.origin}/welcome`);
    const before = await session(page);
    assert.equal(before?.user?.email, "lou@idp.test");
    const [stored] = await accountsOf(before.user.id);
    const cookieHeader = (await page.context().cookies(app.origin)).map((c) => `${c.name}=${c.value}`).join("; ");

    await startCall(page, "signOut");
    await landOn(page, `${idp.issuer}/session/end?id_token_hint=${stored.idToken}`);
    // The IdP still has its session, so it asks for confirmation.
    await page.click("#logout-yes");
    await page.waitForSelector("#signed-out");
    assert.ok(page.url().startsWith(`${idp.issuer}/`), page.url());

    // authkeep's session is gone: the cookies are cleared and the old token is refused.
    assert.equal((await page.context().cookies(app.origin)).some((c) => c.name.endsWith("session_token")), false);
    const old = await fetch(`${app.origin}/api/auth/get-session`, { headers: { cookie: cookieHeader } });
    assert.equal(await old.text(), "null");
    await page.goto(`${app.origin}/`);
    assert.equal(await session(page), null);

    // Signing in again needs the IdP's login form again: its session ended too.
    await startCall(page, "signIn.social", { provider: "idp", callbackURL: "/dashboard" });
    await idpLogin(page, "lou");
    await landOn(page, `${app.origin}/dashboard`);
  });

  test("signOut({ callbackURL, state }) comes back to the app after the IdP's logout", async (t) => {
    idp.addAccount({ id: "bea", email: "bea@idp.test", email_verified: true, name: "Bea Bye" });
    const page = await openApp(t);
    await startCall(page, "signIn.social", { provider: "idp", callbackURL: "/dashboard", newUserCallbackURL: "/welcome" });
    await idpLogin(page, "bea");
    await landOn(page, `${app.origin}/welcome`);
    const [stored] = await accountsOf((await session(page)).user.id);

    await startCall(page, "signOut", { callbackURL: "/bye", state: "s-1" });
    const end = new URL(`${idp.issuer}/session/end`);
    end.search = new URLSearchParams({ id_token_hint: stored.idToken, post_logout_redirect_uri: `${app.origin}/bye`, client_id: "authkeep-idp-client", state: "s-1" });
    await landOn(page, end.toString());
    await page.click("#logout-yes");
    await landOn(page, `${app.origin}/bye?state=s-1`);
    assert.equal(await session(page), null);
  });
});
