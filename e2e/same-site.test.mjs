// The example as deployed in the recommended shape, used in Chromium as a person would: one site
// (nginx with examples/fullstack/deploy/nginx.conf) serving the built React app, authkeep under
// /api/auth/ and the FastAPI app under /api/. Mail goes to a real SMTP server (the tests read it
// and follow its links in the browser); "Sign in with Demo IdP" goes to a real OpenID Connect
// provider. Screenshots land in target/e2e/.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startMailbox } from "../compat/harness/mailbox.mjs";
import { start as startIdp } from "../compat/harness/oidc-idp.mjs";
import { freePort } from "../compat/harness/servers.mjs";
import {
  PASSWORD, callApi, linkTo, chromiumMissing, heading, launchChromium, newPage, onProfile, onSignIn,
  openTab, pageFetchStatus, screenshot, signIn, signUp, waitForHeading,
} from "./helpers.mjs";
import { startSameSite } from "./stack.mjs";

if (chromiumMissing) test("Chromium is installed", () => assert.fail(chromiumMissing));

const IDP_CLIENT = { clientId: "acme-example", clientSecret: "acme-example-secret-0123456789" };

describe("the full stack on one site, in Chromium", { skip: chromiumMissing ?? false }, () => {
  let stack, mailbox, idp, browser, site;

  before(async () => {
    mailbox = await startMailbox();
    // The site's port is chosen first: the provider must know the callback URL it redirects to.
    const port = await freePort();
    idp = await startIdp({
      clients: [{ client_id: IDP_CLIENT.clientId, client_secret: IDP_CLIENT.clientSecret, redirect_uris: [`http://127.0.0.1:${port}/api/auth/callback/idp`] }],
      accounts: [{ id: "ines", email: "ines@idp.test", email_verified: true, name: "Ines from the IdP" }],
    });
    stack = await startSameSite({ smtpPort: mailbox.port, port, idp: { issuer: idp.issuer, ...IDP_CLIENT } });
    site = stack.site;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await idp?.stop();
    await mailbox?.close();
  });

  test("sign up, see the profile, reload and stay signed in, sign out, sign in again; a wrong password shows the error", async (t) => {
    const page = await newPage(t, browser);
    await page.goto(`${site}/`);
    await onSignIn(page); // no session: the app sends you to sign in
    await screenshot(page, "sign-in");
    await page.getByRole("link", { name: "Create an account" }).click();
    await waitForHeading(page, "Create an account");
    await screenshot(page, "sign-up");

    await signUp(page, site, { name: "Ada", email: "ada@example.com" });
    await onProfile(page, "Ada");
    assert.equal(new URL(page.url()).pathname, "/profile");
    assert.match(await page.locator("main").textContent(), /ada@example\.com\s*not verified/);

    await page.reload();
    await onProfile(page, "Ada");

    await page.getByRole("button", { name: "Sign out" }).click();
    await onSignIn(page);
    await page.reload();
    await onSignIn(page);

    await signIn(page, site, { email: "ada@example.com", password: "not the password" });
    await page.getByRole("alert").waitFor();
    assert.equal((await page.getByRole("alert").textContent()).trim(), "Invalid email or password");
    await screenshot(page, "sign-in-wrong-password");
    assert.equal(await heading(page), "Sign in");

    await signIn(page, site, { email: "ada@example.com" });
    await onProfile(page, "Ada");
    assert.equal(await callApi(page), "200 OK: the API knows you as ada@example.com (session cookie).");
    await screenshot(page, "profile");
  });

  test("the API answers with the session and 401 after sign-out, even to the old cookie", async (t) => {
    const page = await newPage(t, browser);
    await signIn(page, site, { email: "ada@example.com" });
    await onProfile(page, "Ada");
    assert.equal(await pageFetchStatus(page, "/api/me"), 200);
    const cookie = (await page.context().cookies()).find((c) => c.name === "better-auth.session_token");
    assert.ok(cookie, "the session cookie is set on the site");
    const replay = () => fetch(`${site}/api/me`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal((await replay()).status, 200);

    await page.getByRole("button", { name: "Sign out" }).click();
    await onSignIn(page);
    assert.equal(await pageFetchStatus(page, "/api/me"), 401);
    const res = await replay();
    assert.equal(res.status, 401, "authkeep ended the session, not just the browser's cookie");
    assert.equal((await res.json()).detail.code, "UNAUTHORIZED");
  });

  test("revoking a session from another browser, and signing out in another tab, make the API answer 401", async (t) => {
    const first = await newPage(t, browser);
    await signUp(first, site, { name: "Bob", email: "bob@example.com" });
    await onProfile(first, "Bob");
    const laptop = await newPage(t, browser);
    await signIn(laptop, site, { email: "bob@example.com" });
    await onProfile(laptop, "Bob");
    assert.match(await callApi(laptop), /^200 OK/);

    // Another browser (its own cookies): its session list shows the laptop's session.
    const phone = await newPage(t, browser);
    await signIn(phone, site, { email: "bob@example.com" });
    await onProfile(phone, "Bob");
    const sessions = phone.locator(".sessions li");
    await sessions.nth(2).waitFor(); // the sign-up's, the laptop's and this one
    assert.equal(await phone.locator('.sessions li[data-current="true"]').count(), 1);
    await screenshot(phone, "sessions");
    // Revoke every other session, newest first (the laptop's is one of them).
    while (await phone.getByRole("button", { name: "Revoke" }).count()) {
      const count = await sessions.count();
      await phone.getByRole("button", { name: "Revoke" }).last().click();
      await phone.waitForFunction((n) => document.querySelectorAll(".sessions li").length < n, count);
    }
    assert.equal(await sessions.count(), 1);

    // The laptop still shows its page, but the API refuses its revoked session.
    assert.equal(await callApi(laptop), "401: Not authenticated (no such session)");

    // Two tabs of one browser: signing out in one ends the session for the other too.
    const tab = await openTab(phone.context());
    await tab.goto(`${site}/profile`);
    await onProfile(tab, "Bob");
    assert.match(await callApi(phone), /^200 OK/);
    await tab.getByRole("button", { name: "Sign out" }).click();
    await onSignIn(tab);
    assert.equal(await pageFetchStatus(phone, "/api/me"), 401);
    // better-auth's client tells its other tabs: the first one leaves the profile by itself.
    await onSignIn(phone);
  });

  test("email verification: the mailed link (sent again on request) verifies the address; a forged one is refused", async (t) => {
    const page = await newPage(t, browser);
    await signUp(page, site, { name: "Vera", email: "vera@example.com" });
    await onProfile(page, "Vera");
    assert.match(await page.locator("dd").first().textContent(), /vera@example\.com\s*not verified/);
    const first = await linkTo(mailbox, "vera@example.com", "/api/auth/verify-email");
    await page.getByRole("button", { name: "Send the verification email again" }).click();
    await page.getByText("We sent you a new verification link.").waitFor();
    // A second mail (the token is a signed JWT: within the same second it is the same link).
    const link = await linkTo(mailbox, "vera@example.com", "/api/auth/verify-email");
    assert.ok(first.startsWith(`${site}/api/auth/verify-email?token=`), first);
    assert.ok(link.startsWith(`${site}/api/auth/verify-email?token=`), link);

    // A link whose token was tampered with: authkeep sends the browser back with the error.
    const forged = new URL(link);
    forged.searchParams.set("token", `${forged.searchParams.get("token")}x`);
    await page.goto(forged.href);
    await waitForHeading(page, "Email verification");
    assert.equal((await page.getByRole("alert").textContent()).trim(), "This verification link is invalid or has expired (INVALID_TOKEN).");

    await page.goto(link);
    await waitForHeading(page, "Email verification");
    assert.equal(new URL(page.url()).pathname, "/email-verified");
    assert.equal((await page.getByRole("status").textContent()).trim(), "Thanks, your email address is verified.");
    await screenshot(page, "email-verified");
    await page.getByRole("link", { name: "Go to your profile" }).click();
    await onProfile(page, "Vera");
    assert.match(await page.locator("dd").first().textContent(), /vera@example\.com\s*verified/);
  });

  test("password reset: request the link, follow it from the mail, set a new password, sign in with it", async (t) => {
    const page = await newPage(t, browser);
    await page.goto(`${site}/sign-in`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByRole("button", { name: "Send the link" }).click();
    await page.getByRole("status").waitFor();
    assert.match(await page.getByRole("status").textContent(), /we sent it a link/);

    const link = await linkTo(mailbox, "ada@example.com", "/api/auth/reset-password/");
    assert.match(link, new RegExp(`^${site}/api/auth/reset-password/[A-Za-z0-9]+\\?callbackURL=`));
    await page.goto(link);
    await waitForHeading(page, "Choose a new password");
    assert.match(new URL(page.url()).search, /^\?token=[A-Za-z0-9]+$/);
    await screenshot(page, "reset-password");
    await page.getByLabel("New password").fill("a brand new passphrase");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("status").waitFor();
    assert.equal((await page.getByRole("status").textContent()).trim(), "Your password was changed. Sign in with the new one.");

    await signIn(page, site, { email: "ada@example.com", password: PASSWORD });
    await page.getByRole("alert").waitFor();
    assert.equal((await page.getByRole("alert").textContent()).trim(), "Invalid email or password");
    await signIn(page, site, { email: "ada@example.com", password: "a brand new passphrase" });
    await onProfile(page, "Ada");

    // The link was used up: following it again lands on the app with an error, not a form.
    await page.goto(link);
    await waitForHeading(page, "Choose a new password");
    assert.equal(new URL(page.url()).searchParams.get("error"), "INVALID_TOKEN");
    assert.equal(await page.getByLabel("New password").count(), 0);
  });

  test("social sign-in through the OpenID Connect provider's login page", async (t) => {
    const page = await newPage(t, browser);
    await page.goto(`${site}/sign-in`);
    await page.getByRole("button", { name: "Sign in with Demo IdP" }).click();
    await page.waitForURL((u) => u.href.startsWith(`${idp.issuer}/interaction/`));
    await screenshot(page, "idp-login");
    await page.fill("#login", "ines");
    await page.click("#submit");
    await onProfile(page, "Ines from the IdP");
    assert.equal(new URL(page.url()).origin, site);
    assert.match(await page.locator("dd").first().textContent(), /ines@idp\.test\s*verified/);
    assert.equal(await callApi(page), "200 OK: the API knows you as ines@idp.test (session cookie).");
  });
});
