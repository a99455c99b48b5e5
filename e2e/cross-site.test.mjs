// The example's other deployment shape in Chromium: the React app on one site
// (http://localhost:<p>), authkeep and the FastAPI app on another (http://127.0.0.1:<q>, :<r>).
// The app is built with VITE_AUTH_URL and VITE_API_URL; the session cookie is authkeep's,
// third-party to the page, so it needs `same_site = "none"` (which brings Secure and
// Partitioned); the API gets a JWT instead of the cookie.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callApi, chromiumMissing, launchChromium, newPage, onProfile, onSignIn, pageFetchStatus, screenshot, signIn, signUp, waitForHeading } from "./helpers.mjs";
import { startCrossSite } from "./stack.mjs";

if (chromiumMissing) test("Chromium is installed", () => assert.fail(chromiumMissing));

describe("the app on another site than authkeep and the API, in Chromium", { skip: chromiumMissing ?? false }, () => {
  let browser;
  const stacks = [];

  before(async () => { browser = await launchChromium(); });
  after(async () => {
    await browser?.close();
    for (const s of stacks) await s.stop();
  });

  async function stack(env) {
    const s = await startCrossSite({ env });
    stacks.push(s);
    return s;
  }

  test("with same_site = none: the session survives a reload, the API takes the JWT, sign-out ends both", async (t) => {
    const { site, authOrigin } = await stack({ AUTHKEEP_ADVANCED__DEFAULT_COOKIE_ATTRIBUTES__SAME_SITE: "none" });
    assert.notEqual(new URL(site).hostname, new URL(authOrigin).hostname);
    const page = await newPage(t, browser);
    const signedUp = page.waitForResponse((r) => r.url() === `${authOrigin}/api/auth/sign-up/email`);
    await signUp(page, site, { name: "Cleo", email: "cleo@example.com" });
    await onProfile(page, "Cleo");
    const setCookie = (await (await signedUp).allHeaders())["set-cookie"];
    assert.match(setCookie, /better-auth\.session_token=[^\n]*; Secure[^\n]*; SameSite=None[^\n]*; Partitioned/i);

    const [cookie] = (await page.context().cookies(authOrigin)).filter((c) => c.name.endsWith("better-auth.session_token"));
    assert.ok(cookie, "authkeep's session cookie is kept");
    assert.equal(cookie.sameSite, "None");
    assert.equal(cookie.secure, true);

    await page.reload();
    await onProfile(page, "Cleo");
    assert.equal(await callApi(page), "200 OK: the API knows you as cleo@example.com (JWT).");
    await screenshot(page, "cross-site-profile");

    await page.getByRole("button", { name: "Sign out" }).click();
    await onSignIn(page);
    await page.reload();
    await onSignIn(page);
    // No session, so no new JWT for the API.
    assert.equal(await pageFetchStatus(page, `${authOrigin}/api/auth/token`, { credentials: "include" }), 401);

    await signIn(page, site, { email: "cleo@example.com" });
    await onProfile(page, "Cleo");
  });

  test("with the default SameSite=Lax cookies the browser drops the session (what same_site = none is for)", async (t) => {
    const { site, authOrigin } = await stack({});
    const page = await newPage(t, browser);
    const answered = (path) => page.waitForResponse((r) => r.url() === `${authOrigin}/api/auth${path}`);
    // authkeep creates the account and answers with its cookie, which Chromium refuses.
    const signedUp = answered("/sign-up/email");
    await signUp(page, site, { name: "Dan", email: "dan@example.com" });
    assert.equal((await signedUp).status(), 200);
    assert.equal((await (await signedUp).allHeaders())["set-cookie"]?.includes("SameSite=Lax"), true);
    await page.reload();
    await waitForHeading(page, "Create an account");
    assert.equal((await page.locator("header .muted").textContent()).trim(), "not signed in");
    assert.deepEqual((await page.context().cookies(authOrigin)).map((c) => c.name), []);

    const signedIn = answered("/sign-in/email");
    await signIn(page, site, { email: "dan@example.com" });
    assert.equal((await signedIn).status(), 200);
    await page.reload();
    await onSignIn(page);
    assert.equal((await page.locator("header .muted").textContent()).trim(), "not signed in");
  });
});
