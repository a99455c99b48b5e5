// Starts the servers under test: the real authkeep binary and a real better-auth, each on a
// free loopback port, over a fresh PostgreSQL database or SQLite file.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../..");
export const SECRET = "compat-secret-0123456789abcdef0123456789abcdef";
export const TRUSTED = "http://localhost:5173";
const pgAdmin = process.env.AUTHKEEP_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export async function createPgDatabase() {
  const name = `authkeep_compat_${Math.random().toString(36).slice(2, 10)}`;
  const c = new pg.Client({ connectionString: pgAdmin });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  const url = new URL(pgAdmin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const d = new pg.Client({ connectionString: pgAdmin });
      await d.connect();
      await d.query(`drop database if exists ${name} with (force)`);
      await d.end();
    },
  };
}

export function sqliteFile() {
  const dir = mkdtempSync(path.join(tmpdir(), "authkeep-compat-"));
  return { url: `sqlite://${path.join(dir, "auth.sqlite")}`, async drop() { rmSync(dir, { recursive: true, force: true }); } };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Spawns a server and resolves once it logs `addr=HOST:PORT` and answers /health. */
function launch(cmd, args, env, label) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    const signal = (sig) => new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      child.once("exit", r);
      child.kill(sig);
    });
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`${label} did not start:\n${log}`)); }, 60_000);
    child.stderr.on("data", async (chunk) => {
      log += chunk;
      const m = /addr=(\S+)/.exec(log);
      if (!m || child.started) return;
      child.started = true;
      const origin = `http://${m[1]}`;
      for (let i = 0; i < 100; i++) {
        try { if ((await fetch(`${origin}/health`)).ok) break; } catch {}
        await new Promise((r) => setTimeout(r, 50));
      }
      clearTimeout(timer);
      resolve({
        label, origin, baseURL: `${origin}/api/auth`, log: () => log,
        stop: () => signal("SIGTERM"),
        /** Kills it at once, as a crash or an OOM kill would. */
        kill: () => signal("SIGKILL"),
        pid: child.pid,
      });
    });
    child.on("exit", (code) => { if (!child.started) { clearTimeout(timer); reject(new Error(`${label} exited (${code}):\n${log}`)); } });
  });
}

export function authkeepBinary() {
  return process.env.AUTHKEEP_BIN ?? path.join(repoRoot, "target", "debug", "authkeep");
}

/**
 * The real authkeep binary, on a free port (base URL and listener agree). `config` is a TOML
 * file passed with --config; the variables below still win over it, as they do in production.
 */
export async function startAuthkeep({ databaseUrl, env = {}, config, port: fixedPort, baseUrl }) {
  // `port` and `baseUrl` for a server whose public URL is not its listen address (behind a
  // proxy, or sharing a hostname with a better-auth).
  const port = fixedPort ?? await freePort();
  return launch(authkeepBinary(), ["serve", "--listen", `127.0.0.1:${port}`, ...(config ? ["--config", config] : [])], {
    DATABASE_URL: databaseUrl,
    BETTER_AUTH_SECRET: SECRET,
    BETTER_AUTH_URL: baseUrl ?? `http://127.0.0.1:${port}`,
    BETTER_AUTH_TRUSTED_ORIGINS: TRUSTED,
    AUTHKEEP_USER__DELETE_USER: "true",
    RUST_LOG: "warn,authkeep::serve=info",
    ...env,
  }, `authkeep(${databaseUrl.split(":")[0]})`);
}

/** authkeep's settings for the email flows, matching better-auth-server.mjs with SMTP_PORT. */
export function authkeepEmailEnv(smtpPort) {
  return {
    AUTHKEEP_EMAIL__SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    AUTHKEEP_EMAIL__FROM: "Acme <no-reply@acme.test>",
    AUTHKEEP_EMAIL_VERIFICATION__REQUIRED: "true",
    AUTHKEEP_EMAIL_VERIFICATION__SEND_ON_SIGN_UP: "true",
    AUTHKEEP_EMAIL_VERIFICATION__AUTO_SIGN_IN_AFTER_VERIFICATION: "true",
    AUTHKEEP_MAGIC_LINK__ENABLED: "true",
    AUTHKEEP_EMAIL_OTP__ENABLED: "true",
    AUTHKEEP_USER__CHANGE_EMAIL: "true",
    AUTHKEEP_USER__DELETE_USER_VERIFICATION: "true",
  };
}

/**
 * A real better-auth 1.7.25 server on PostgreSQL (or SQLite with `env.SQLITE_PATH`); with
 * `env.SCHEMA = "seed"` it uses the seed's table and column names (harness/seed-schema.mjs);
 * `env.SOCIAL` configures social sign-in (better-auth-server.mjs, harness/social.mjs).
 */
export async function startBetterAuth({ databaseUrl, env = {}, port: fixedPort }) {
  // A caller may choose the port first, when other servers must know the base URL in advance
  // (an identity provider's registered redirect URIs).
  const port = fixedPort ?? await freePort();
  return launch(process.execPath, [path.join(here, "better-auth-server.mjs")], {
    ...env,
    PORT: String(port),
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    BETTER_AUTH_SECRET: SECRET,
    TRUSTED_ORIGINS: TRUSTED,
  }, "better-auth");
}
