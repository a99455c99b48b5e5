// Starts examples/fullstack as it is deployed, for the browser journeys: the React app built by
// Vite, authkeep (the real binary, on a fresh SQLite file), the FastAPI app under uvicorn, and
// for the same-site shape nginx in front of all three with the example's deploy/nginx.conf.
// Every process is on a free loopback port and is stopped by `stop()`, or at the latest when
// this process exits (a failed `before` hook, Ctrl-C, the runner's timeout).
//
//   startSameSite({ smtpPort, idp?, port? })  one site: http://127.0.0.1:<nginx> serves the app, proxies
//       /api/auth/ to authkeep (its BETTER_AUTH_URL is that site) and /api/ to the API (cookie
//       path). With `idp` ({ issuer, clientId, clientSecret }), authkeep has the OpenID Connect
//       provider "idp" and the app shows "Sign in with Demo IdP".
//   startCrossSite({ env? })  the app on http://localhost:<p>, authkeep and the API on
//       http://127.0.0.1:<q>, :<r> (another site); `env` adds authkeep settings (the cookie
//       attributes under test). The app calls the API with a JWT.
//   Both -> { site, authOrigin, apiOrigin, stop() }
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runNginx } from "../compat/harness/nginx.mjs";
import { freePort, repoRoot, sqliteFile, startAuthkeep } from "../compat/harness/servers.mjs";

export const exampleDir = path.join(repoRoot, "examples", "fullstack");
const python = process.env.E2E_PYTHON ?? path.join(repoRoot, "target", "fullstack-venv", "bin", "python");

// Children still running when this process ends are killed with it.
const running = new Set();
process.on("exit", () => { for (const pid of running) { try { process.kill(pid, "SIGKILL"); } catch {} } });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));
function track(handle) {
  running.add(handle.pid);
  const stop = handle.stop;
  return { ...handle, stop: async () => { await stop(); running.delete(handle.pid); } };
}

/** `vite build` of the example into a fresh directory, with the VITE_* settings in `env`. */
export function buildApp(env) {
  const outDir = mkdtempSync(path.join(tmpdir(), "authkeep-e2e-dist-"));
  const r = spawnSync(process.execPath, [path.join(exampleDir, "node_modules", "vite", "bin", "vite.js"), "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], {
    cwd: exampleDir, env: { ...process.env, ...env }, encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}${r.stderr}`);
  // nginx's workers run as another user when it is started as root (CI): let them read it.
  chmodSync(outDir, 0o755);
  return outDir;
}

/** The FastAPI app under uvicorn; resolves once /api/health answers. */
async function startApi(env) {
  const port = await freePort();
  const child = spawn(python, ["-m", "uvicorn", "--app-dir", path.join(exampleDir, "api"), "main:app", "--host", "127.0.0.1", "--port", String(port), "--log-level", "warning"], {
    env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode}):\n${log}`);
    try { if ((await fetch(`${origin}/api/health`)).ok) break; } catch {}
    if (i > 300) { child.kill("SIGKILL"); throw new Error(`the API did not start:\n${log}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    origin, pid: child.pid, log: () => log,
    stop: () => new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      child.once("exit", r);
      child.kill("SIGTERM");
    }),
  };
}

/** The example's deploy/nginx.conf, pointed at this run's ports and build (each edit checked). */
function nginxServer({ port, dist, authOrigin, apiOrigin }) {
  let conf = readFileSync(path.join(exampleDir, "deploy", "nginx.conf"), "utf8");
  const edits = [
    [/listen 80;/, `listen 127.0.0.1:${port};`],
    [/root \/srv\/acme\/dist;/, `root ${dist};`],
    [/proxy_pass http:\/\/127\.0\.0\.1:3000;/, `proxy_pass ${authOrigin};`],
    [/proxy_pass http:\/\/127\.0\.0\.1:8000;/, `proxy_pass ${apiOrigin};`],
  ];
  for (const [from, to] of edits) {
    if (!from.test(conf)) throw new Error(`deploy/nginx.conf has no ${from}: update e2e/stack.mjs with it`);
    conf = conf.replace(from, to);
  }
  return conf;
}

/** A static server for a build: `try_files` sends every app path to index.html. */
function staticServer({ port, dist }) {
  return `server {
    listen 127.0.0.1:${port};
    root ${dist};
    location / { try_files $uri /index.html; }
  }`;
}

function stopAll(started, cleanup = []) {
  return async () => {
    for (const s of started.reverse()) await s.stop();
    for (const c of cleanup) await c();
  };
}

const AUTHKEEP_DEFAULTS = {
  // The journeys sign in often from one address; development mode has no rate limit anyway.
  AUTHKEEP_RATE_LIMIT__ENABLED: "false",
};

export async function startSameSite({ smtpPort, idp, port }) {
  const started = [];
  const db = sqliteFile();
  const dir = mkdtempSync(path.join(tmpdir(), "authkeep-e2e-"));
  const stop = stopAll(started, [() => db.drop(), () => rmSync(dir, { recursive: true, force: true })]);
  try {
    port ??= await freePort();
    const site = `http://127.0.0.1:${port}`;
    const dist = buildApp({ VITE_SOCIAL_PROVIDERS: idp ? "idp=Demo IdP" : "" });
    started.push({ stop: async () => rmSync(dist, { recursive: true, force: true }) });

    const configPath = path.join(dir, "authkeep.toml");
    writeFileSync(configPath, idp ? `[[generic_oauth]]
provider_id = "idp"
client_id = ${JSON.stringify(idp.clientId)}
client_secret = ${JSON.stringify(idp.clientSecret)}
discovery_url = "${idp.issuer}/.well-known/openid-configuration"
scopes = ["openid", "email", "profile"]
` : "");
    const authkeep = track(await startAuthkeep({
      databaseUrl: db.url, config: configPath, baseUrl: site,
      env: {
        ...AUTHKEEP_DEFAULTS,
        BETTER_AUTH_TRUSTED_ORIGINS: site,
        AUTHKEEP_EMAIL__SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        AUTHKEEP_EMAIL__FROM: "Acme <no-reply@acme.test>",
        AUTHKEEP_EMAIL_VERIFICATION__SEND_ON_SIGN_UP: "true",
      },
    }));
    started.push(authkeep);
    const api = track(await startApi({ AUTH_URL: authkeep.origin, AUTH_PUBLIC_URL: site }));
    started.push(api);
    const nginx = track(await runNginx(nginxServer({ port, dist, authOrigin: authkeep.origin, apiOrigin: api.origin }), { port }));
    started.push(nginx);
    return { site, authOrigin: authkeep.origin, apiOrigin: api.origin, authkeep, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function startCrossSite({ env = {} } = {}) {
  const started = [];
  const db = sqliteFile();
  const stop = stopAll(started, [() => db.drop()]);
  try {
    const [port, authPort] = [await freePort(), await freePort()];
    const site = `http://localhost:${port}`;
    const authOrigin = `http://127.0.0.1:${authPort}`;
    const authkeep = track(await startAuthkeep({
      databaseUrl: db.url, port: authPort,
      env: { ...AUTHKEEP_DEFAULTS, BETTER_AUTH_TRUSTED_ORIGINS: site, ...env },
    }));
    started.push(authkeep);
    const api = track(await startApi({ AUTH_URL: authOrigin, FRONTEND_ORIGINS: site }));
    started.push(api);
    const dist = buildApp({ VITE_AUTH_URL: authOrigin, VITE_API_URL: api.origin });
    started.push({ stop: async () => rmSync(dist, { recursive: true, force: true }) });
    started.push(track(await runNginx(staticServer({ port, dist }), { port })));
    return { site, authOrigin, apiOrigin: api.origin, authkeep, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
