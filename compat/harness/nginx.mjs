// Debian's nginx on free loopback ports, each instance with its own prefix directory (no root
// config, no daemon).
//   startNginx(upstreams)       the reverse proxy in front of authkeep replicas: round-robin over
//                               the upstreams, X-Forwarded-For/-Proto set as a real deployment sets
//                               them, and a failed upstream skipped for idempotent requests (nginx's
//                               default `proxy_next_upstream error timeout`).
//   runNginx(servers, { port }) any `server { … }` blocks (the text of the http block after the
//                               common settings, which include Debian's mime.types); `port` is only
//                               where readiness is checked.
//   Both -> { origin, port, stop() }.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./servers.mjs";

export const NGINX = process.env.AUTHKEEP_TEST_NGINX ?? "/usr/sbin/nginx";
// Content types for static files (module scripts must be served as JavaScript).
const MIME_TYPES = "/etc/nginx/mime.types";
export const nginxMissing = existsSync(NGINX) ? null : `${NGINX} is missing (apt-get install -y nginx)`;

export async function startNginx(upstreams, { port } = {}) {
  port ??= await freePort();
  return runNginx(`
  upstream authkeep {
${upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=5s;`).join("\n")}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://authkeep;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_connect_timeout 1s;
      proxy_next_upstream error timeout http_502;
    }
  }`, { port });
}

export async function runNginx(servers, { port }) {
  const dir = mkdtempSync(path.join(tmpdir(), "authkeep-nginx-"));
  for (const d of ["logs", "tmp"]) mkdirSync(path.join(dir, d));
  const conf = `
worker_processes 1;
error_log ${dir}/logs/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http {
  ${existsSync(MIME_TYPES) ? `include ${MIME_TYPES};` : ""}
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
${servers}
}
`;
  writeFileSync(path.join(dir, "nginx.conf"), conf);
  const child = spawn(NGINX, ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    try { await fetch(`${origin}/health`); break; } catch {}
    if (i > 200) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    origin,
    port,
    pid: child.pid,
    stop: () => new Promise((r) => {
      if (child.exitCode !== null) { rmSync(dir, { recursive: true, force: true }); return r(); }
      child.once("exit", () => { rmSync(dir, { recursive: true, force: true }); r(); });
      child.kill("SIGTERM");
    }),
  };
}
