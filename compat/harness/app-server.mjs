// A tiny web app on 127.0.0.1 that puts authkeep behind it, same-origin, as a Next.js rewrite or
// an nginx `location /api/auth/ { proxy_pass … }` would, and serves a page running better-auth
// 1.7.25's real browser client, so Playwright can drive `authClient` in a real Chromium.
//
//   GET /client.js     better-auth/client bundled by esbuild (once per process, at the first
//                      start) into one IIFE that sets `window.authClient = createAuthClient({
//                      baseURL: <the app's origin> })`, with the client's default fetch plugins
//                      (its redirect plugin follows `{url, redirect: true}` answers)
//   /api/auth/*        reverse-proxied to `upstream` (authkeep's listen origin): method, path,
//                      query, headers (plus x-forwarded-host/-proto/-for) and body go up as
//                      sent; status, headers (every Set-Cookie, Location) and body come back
//                      untouched; redirects are never followed. 502 while no upstream is set.
//   anything else      GET: the app page (any path, so callback/error URLs such as /dashboard
//                      or /oops?error=… land on a page where `authClient` exists). The page
//                      shows its path in `#path` and sets `window.appReady = true` once the
//                      client script has run.
//
// API
//   const app = await startApp({ upstream?, port? })
//     app.origin                    "http://127.0.0.1:<port>"
//     app.setUpstream(origin)       where /api/auth/* goes (authkeep needs the app's origin as
//                                   its public URL before it starts, so it can come later)
//     app.stop()
//   const s = await startAuthkeepBehindApp({ databaseUrl, stack?, stackOptions?, toml?, env? })
//     The whole arrangement: picks the app's port, starts startSocialStack({ ...stackOptions,
//     extraOrigins: [app origin] }) (stackOptions.databaseUrl is the stack's own better-auth's
//     database, not authkeep's `databaseUrl`; unless `stack` is given, which must already
//     accept the app's callbacks), writes authkeepSocialToml(stack, toml) to a temporary authkeep.toml,
//     starts authkeep with baseUrl = the app's origin on its own port, and the app in front.
//     -> { app, authkeep, stack, configPath, stop() }   (stop() stops what it started)
//   bundleClient(origin) -> Promise<string>   the client script for that origin
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startAuthkeep } from "./servers.mjs";
import { authkeepSocialToml, startSocialStack } from "./social.mjs";

const compatDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

let bundled; // Promise<string>: the IIFE, with ORIGIN_PLACEHOLDER where the base URL goes
const ORIGIN_PLACEHOLDER = "__AUTHKEEP_APP_ORIGIN__";

export async function bundleClient(origin) {
  bundled ??= (async () => {
    const esbuild = await import("esbuild");
    const out = await esbuild.build({
      stdin: {
        contents: `import { createAuthClient } from "better-auth/client";
window.authClient = createAuthClient({ baseURL: ${JSON.stringify(ORIGIN_PLACEHOLDER)} });`,
        resolveDir: compatDir,
        sourcefile: "app-client.js",
        loader: "js",
      },
      bundle: true,
      format: "iife",
      platform: "browser",
      target: "es2022",
      write: false,
      logLevel: "silent",
    });
    return out.outputFiles[0].text;
  })();
  return (await bundled).replace(ORIGIN_PLACEHOLDER, origin);
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>authkeep test app</title>
<script src="/client.js"></script></head><body>
<h1 id="path"></h1>
<script>document.getElementById("path").textContent = location.pathname + location.search;
window.appReady = typeof window.authClient === "object" || typeof window.authClient === "function";</script>
</body></html>`;

export async function startApp({ upstream, port } = {}) {
  port ??= await freePort();
  const origin = `http://127.0.0.1:${port}`;
  let target = upstream;
  const script = await bundleClient(origin);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, origin);
    if (url.pathname === "/api/auth" || url.pathname.startsWith("/api/auth/")) return proxy(req, res);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" });
      return res.end();
    }
    if (url.pathname === "/client.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" });
      return res.end(script);
    }
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204);
      return res.end();
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(PAGE);
  });

  function proxy(req, res) {
    if (!target) {
      res.writeHead(502, { "content-type": "text/plain" });
      return res.end("no upstream");
    }
    const up = new URL(target);
    const headers = { ...req.headers };
    headers["x-forwarded-host"] = req.headers.host;
    headers["x-forwarded-proto"] = "http";
    headers["x-forwarded-for"] = req.socket.remoteAddress;
    const upstreamReq = http.request({
      host: up.hostname, port: up.port, method: req.method, path: req.url, headers,
    }, (upstreamRes) => {
      // rawHeaders keeps every Set-Cookie line as its own header, in order, byte for byte.
      res.writeHead(upstreamRes.statusCode, upstreamRes.statusMessage, upstreamRes.rawHeaders);
      upstreamRes.pipe(res);
    });
    upstreamReq.on("error", (err) => {
      if (res.headersSent) return res.destroy(err);
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`upstream error: ${err.message}`);
    });
    req.pipe(upstreamReq);
  }

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    origin,
    setUpstream: (o) => { target = o; },
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export async function startAuthkeepBehindApp({ databaseUrl, stack, stackOptions = {}, toml = {}, env = {} }) {
  const appPort = await freePort();
  const appOrigin = `http://127.0.0.1:${appPort}`;
  const started = [];
  const dir = mkdtempSync(path.join(tmpdir(), "authkeep-app-"));
  try {
    if (!stack) {
      stack = await startSocialStack({ ...stackOptions, extraOrigins: [appOrigin, ...(stackOptions.extraOrigins ?? [])] });
      started.push(stack);
    }
    const configPath = path.join(dir, "authkeep.toml");
    writeFileSync(configPath, authkeepSocialToml(stack, toml));
    const authkeep = await startAuthkeep({ databaseUrl, config: configPath, baseUrl: appOrigin, env });
    started.push(authkeep);
    const app = await startApp({ upstream: authkeep.origin, port: appPort });
    started.push(app);
    return {
      app, authkeep, stack, configPath,
      stop: async () => {
        for (const s of started.reverse()) await s.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
