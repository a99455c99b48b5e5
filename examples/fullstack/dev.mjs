#!/usr/bin/env node
// The whole stack for development, in one command (from anywhere in the repository):
//
//   node examples/fullstack/dev.mjs
//
// It installs what is missing (this example's npm packages, a Python virtualenv for the API in
// target/fullstack-venv, the authkeep binary), then starts
//   authkeep      http://127.0.0.1:3000   SQLite in examples/fullstack/.data/, mail to its log
//   the API       http://127.0.0.1:8000   api/main.py under uvicorn
//   Vite          http://localhost:5173   the React app; proxies /api/auth/* and /api/* (the one
//                                         site the browser sees, as a reverse proxy would)
// and stops all three on Ctrl-C, or when one of them dies.
//
// Settings (environment): PORT, AUTH_PORT, API_PORT; AUTHKEEP_BIN (a built authkeep); DATA_DIR
// (where the SQLite file and development secret live); VITE_SOCIAL_PROVIDERS ("github=GitHub",
// with the provider configured in examples/fullstack/authkeep.toml, read when it exists).
// `--setup` installs and exits.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const env = process.env;
const PORT = env.PORT ?? "5173";
const AUTH_PORT = env.AUTH_PORT ?? "3000";
const API_PORT = env.API_PORT ?? "8000";
const site = `http://localhost:${PORT}`;
const authUrl = `http://127.0.0.1:${AUTH_PORT}`;
const apiUrl = `http://127.0.0.1:${API_PORT}`;
const dataDir = path.resolve(env.DATA_DIR ?? path.join(here, ".data"));
const venv = path.join(root, "target", "fullstack-venv");
const python = path.join(venv, "bin", "python");

function run(cmd, args, options = {}) {
  console.log(`[setup] ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (r.status !== 0) {
    console.error(`[setup] failed: ${cmd} ${args.join(" ")}`);
    process.exit(1);
  }
}

/** Installs what is missing; returns the authkeep binary. */
function setup() {
  if (!existsSync(path.join(here, "node_modules", ".package-lock.json"))) {
    run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: here });
  }
  if (!existsSync(path.join(venv, "bin", "uvicorn"))) {
    run("python3", ["-m", "venv", venv]);
    // From the repository root: requirements.txt names the package as ./python.
    run(path.join(venv, "bin", "pip"), ["install", "--quiet", "-r", "examples/fullstack/api/requirements.txt"], { cwd: root });
  }
  const bin = env.AUTHKEEP_BIN ?? path.join(root, "target", "debug", "authkeep");
  if (!existsSync(bin)) run("cargo", ["build", "-p", "authkeep"], { cwd: root });
  return bin;
}

const children = [];
let stopping = false;

/** Starts a process whose output lines are prefixed with its name. */
function start(name, cmd, args, options) {
  const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = "";
    stream.on("data", (chunk) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop();
      for (const line of lines) console.log(`[${name}] ${line}`);
    });
  }
  child.on("exit", (code, signal) => {
    if (stopping) return;
    console.error(`[${name}] exited (${signal ?? code}); stopping the others`);
    stop(1);
  });
  children.push(child);
  return child;
}

async function stop(code) {
  stopping = true;
  await Promise.all(children.map((c) => new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once("exit", resolve);
    c.kill("SIGTERM");
    setTimeout(() => c.kill("SIGKILL"), 5000).unref();
  })));
  process.exit(code);
}

async function waitFor(url, name) {
  for (let i = 0; i < 600 && !stopping; i++) {
    try { await fetch(url); return; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!stopping) { console.error(`[${name}] did not answer at ${url}`); stop(1); }
}

const bin = setup();
if (process.argv.includes("--setup")) process.exit(0);

process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
mkdirSync(dataDir, { recursive: true });

const config = path.join(here, "authkeep.toml");
start("authkeep", bin, ["serve", "--listen", `127.0.0.1:${AUTH_PORT}`, ...(existsSync(config) ? ["--config", config] : [])], {
  // In development authkeep writes its secret to .authkeep-secret in its working directory.
  cwd: dataDir,
  env: {
    ...env,
    DATABASE_URL: env.DATABASE_URL ?? `sqlite://${path.join(dataDir, "authkeep.sqlite")}`,
    // Its public URL is the site the browser sees: links in mails and redirects point there.
    BETTER_AUTH_URL: site,
    AUTHKEEP_EMAIL_VERIFICATION__SEND_ON_SIGN_UP: env.AUTHKEEP_EMAIL_VERIFICATION__SEND_ON_SIGN_UP ?? "true",
  },
});
start("api", python, ["-m", "uvicorn", "--app-dir", path.join(here, "api"), "main:app", "--host", "127.0.0.1", "--port", API_PORT], {
  env: { ...env, AUTH_URL: authUrl, AUTH_PUBLIC_URL: site },
});
await waitFor(`${authUrl}/health`, "authkeep");
start("web", process.execPath, [path.join(here, "node_modules", "vite", "bin", "vite.js"), "--port", PORT, "--strictPort", "--host", "localhost"], {
  cwd: here,
  env: { ...env, AUTH_URL: authUrl, API_URL: apiUrl },
});
await waitFor(`${apiUrl}/api/health`, "api");
await waitFor(`${site}/`, "web");
if (!stopping) console.log(`\n  Open ${site}  (mail, such as verification links, is printed by [authkeep])\n`);
