// Debian's Chromium, driven by playwright-core, for the browser tests (compat/tests/*-browser,
// e2e/). Override the binary with AUTHKEEP_TEST_CHROMIUM.
import { existsSync } from "node:fs";

export const CHROMIUM = process.env.AUTHKEEP_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** Why the browser tests cannot run, or null. */
export const chromiumMissing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install -y chromium); the browser tests cannot run`;

// No sandbox (root in a container), no GPU, and nothing that phones home during a test.
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
