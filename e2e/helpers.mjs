// What the journeys share: Chromium, fresh browser profiles, the example's forms, screenshots.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../compat/harness/servers.mjs";

export { chromiumMissing, launchChromium } from "../compat/harness/chromium.mjs";

export const artifacts = process.env.E2E_ARTIFACTS ?? path.join(repoRoot, "target", "e2e");
export const PASSWORD = "correct horse battery";
const WAIT = 15_000;

/** A fresh browser profile (no cookies) with one page; closed when the test ends. */
export async function newPage(t, browser) {
  const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
  t.after(() => context.close());
  return openTab(context);
}

/** Another tab in the same profile (same cookies). */
export async function openTab(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.log = [];
  page.on("console", (m) => { if (m.type() === "error") page.log.push(m.text()); });
  page.on("pageerror", (e) => page.log.push(`pageerror: ${e.message}`));
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

/** The visible heading of the page, once the app has rendered one. */
export async function heading(page) {
  return (await page.locator("main h1").first().textContent()).trim();
}

export async function signUp(page, site, { name, email, password = PASSWORD }) {
  await page.goto(`${site}/sign-up`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
}

export async function signIn(page, site, { email, password = PASSWORD }) {
  if (!page.url().startsWith(`${site}/sign-in`)) await page.goto(`${site}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Waits for the profile page of `name` (the app shows it only with a session). */
export function onProfile(page, name) {
  return waitForHeading(page, `Hello, ${name}`);
}

export function onSignIn(page) {
  return waitForHeading(page, "Sign in");
}

/** Waits for a page heading; on timeout, says what the browser showed instead. */
export async function waitForHeading(page, name) {
  try {
    await page.getByRole("heading", { name, exact: true }).waitFor();
  } catch (err) {
    const shown = await page.locator("body").innerText().catch(() => "?");
    await screenshot(page, `failed-${name.replace(/\W+/g, "-")}-${Date.now()}`).catch(() => {});
    throw new Error(`waiting for the heading "${name}" at ${page.url()}, the page shows:\n${shown}\nconsole errors:\n${page.log.join("\n")}\n${err.message}`);
  }
}

/** Clicks "Call the API" and returns the result line the app shows (it clears the old one). */
export async function callApi(page) {
  await page.getByRole("button", { name: "Call the API" }).click();
  const result = page.getByTestId("api-result");
  await result.waitFor();
  return (await result.textContent()).trim();
}

/** A fetch from inside the page (the browser's own cookies): the HTTP status. */
export function pageFetchStatus(page, url, init = {}) {
  return page.evaluate(async ([u, i]) => (await fetch(u, i)).status, [url, init]);
}

/** The link in the next mail to `to` whose link contains `part` (older mails are skipped). */
export async function linkTo(mailbox, to, part) {
  for (;;) {
    const mail = await mailbox.next(to);
    const url = /https?:\/\/\S+/.exec(mail.text)?.[0];
    if (url?.includes(part)) return url;
  }
}
