// The example's one command (`node examples/fullstack/dev.mjs`, as its README says) starts a stack
// a newcomer can use in the browser: Vite's dev server proxying to authkeep and the API. Ctrl-C
// stops all three processes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { authkeepBinary, freePort } from "../compat/harness/servers.mjs";
import { callApi, chromiumMissing, launchChromium, newPage, onProfile, onSignIn, signUp } from "./helpers.mjs";
import { exampleDir } from "./stack.mjs";

if (chromiumMissing) test("Chromium is installed", () => assert.fail(chromiumMissing));

const refused = async (url) => { try { await fetch(url); return false; } catch { return true; } };

describe("the example's one command", { skip: chromiumMissing ?? false }, () => {
  let browser, dev, dataDir, ports, log = "";

  before(async () => {
    ports = { PORT: String(await freePort()), AUTH_PORT: String(await freePort()), API_PORT: String(await freePort()) };
    dataDir = mkdtempSync(path.join(tmpdir(), "authkeep-dev-"));
    dev = spawn(process.execPath, [path.join(exampleDir, "dev.mjs")], {
      env: { ...process.env, ...ports, DATA_DIR: dataDir, AUTHKEEP_BIN: authkeepBinary() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    dev.stdout.on("data", (d) => (log += d));
    dev.stderr.on("data", (d) => (log += d));
    process.on("exit", () => dev.kill("SIGKILL"));
    const deadline = Date.now() + 60_000;
    while (!log.includes("Open http://localhost:")) {
      if (dev.exitCode !== null) throw new Error(`dev.mjs exited:\n${log}`);
      if (Date.now() > deadline) throw new Error(`dev.mjs did not get ready:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (dev && dev.exitCode === null) dev.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("sign up in the browser, call the API through Vite's proxy, and Ctrl-C stops everything", async (t) => {
    const site = `http://localhost:${ports.PORT}`;
    const page = await newPage(t, browser);
    await page.goto(site);
    await onSignIn(page);
    await signUp(page, site, { name: "Newcomer", email: "new@example.com" });
    await onProfile(page, "Newcomer");
    assert.equal(await callApi(page), "200 OK: the API knows you as new@example.com (session cookie).");
    // Mail goes to authkeep's log in development: the verification link is there to click.
    assert.match(log, new RegExp(`${site}/api/auth/verify-email\\?token=`));

    const exited = new Promise((resolve) => dev.once("exit", resolve));
    dev.kill("SIGINT");
    assert.equal(await exited, 0);
    for (const port of Object.values(ports)) assert.ok(await refused(`http://127.0.0.1:${port}/`), `port ${port} is closed`);
    assert.ok(await refused(`${site}/`));
  });
});
