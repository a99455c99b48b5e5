// `authkeep doctor` against what only the compat harness has: a real SMTP server (connect and
// EHLO, nothing sent) and databases created by better-auth's own migrator, which it must find
// healthy, under better-auth's names and under the seed's custom ones.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";

import { authkeepBinary, createPgDatabase, sqliteFile, freePort, SECRET } from "../harness/servers.mjs";
import { startMailbox } from "../harness/mailbox.mjs";
import { betterAuthMigrate, seedConfigFile } from "../harness/seed-schema.mjs";

/** Runs `authkeep doctor --format json ARGS`; resolves to its exit code and parsed report. */
function doctor(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(authkeepBinary(), ["doctor", "--format", "json", ...args], {
      env: { PATH: process.env.PATH, BETTER_AUTH_SECRET: SECRET, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => { out += c; });
    child.stderr.on("data", (c) => { err += c; });
    child.on("error", reject);
    child.on("exit", (code) => {
      try { resolve({ code, report: JSON.parse(out) }); } catch (e) { reject(new Error(`${e}\n${out}\n${err}`)); }
    });
  });
}

const about = (report, check, level) => report.findings.filter((f) => f.check === check && f.level === level);

describe("doctor and a real SMTP server", () => {
  let mailbox;
  after(async () => { await mailbox?.close(); });

  test("required verification with a reachable server is healthy, and nothing is sent", async () => {
    mailbox = await startMailbox();
    const db = sqliteFile();
    try {
      const env = {
        AUTHKEEP_EMAIL__SMTP_URL: `smtp://127.0.0.1:${mailbox.port}`,
        AUTHKEEP_EMAIL_VERIFICATION__REQUIRED: "true",
      };
      const { code, report } = await doctor(["--database-url", db.url], env);
      const ok = about(report, "email", "ok");
      assert.equal(ok.length, 1, JSON.stringify(report, null, 2));
      assert.match(ok[0].message, /answers \(connected and greeted; nothing sent\)/);
      assert.equal(code, 0, JSON.stringify(report, null, 2));
      assert.equal(mailbox.messages.length, 0);

      // Nobody listening: an error naming the server, exit 1.
      const closed = await freePort();
      const down = await doctor(["--database-url", db.url], { ...env, AUTHKEEP_EMAIL__SMTP_URL: `smtp://127.0.0.1:${closed}` });
      assert.equal(down.code, 1);
      const error = about(down.report, "email", "error")[0];
      assert.match(error.message, new RegExp(`smtp://127\\.0\\.0\\.1:${closed}`));
      assert.match(error.fix, /smtp_url/);
    } finally {
      await db.drop();
    }
  });
});

describe("doctor on databases better-auth's migrator created", () => {
  for (const [name, variant] of [["better-auth's names", null], ["the seed's custom names", "seed"]]) {
    test(`PostgreSQL, ${name}: no database findings`, async () => {
      const db = await createPgDatabase();
      const config = variant ? seedConfigFile(variant) : null;
      try {
        await betterAuthMigrate(db.url, variant ?? "better-auth");
        const args = ["--database-url", db.url, ...(config ? ["--config", config.path] : [])];
        const { code, report } = await doctor(args);
        const problems = report.findings.filter((f) => f.check === "database" && f.level !== "ok");
        assert.deepEqual(problems, [], JSON.stringify(report, null, 2));
        assert.equal(code, 0);
      } finally {
        config?.drop();
        await db.drop();
      }
    });
  }
});
