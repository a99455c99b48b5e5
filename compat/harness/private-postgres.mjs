// A throw-away PostgreSQL cluster of the machine's server binaries (initdb in a temporary
// directory, trust authentication, loopback only, fsync off) on a free port, for tests that must
// restart or stop the database without disturbing the shared one. As root it runs as `postgres`.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./servers.mjs";

function bindir() {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  for (const v of readdirSync(root).sort().reverse()) {
    const dir = path.join(root, v, "bin");
    if (existsSync(path.join(dir, "initdb"))) return dir;
  }
  return null;
}

export const postgresServerMissing = bindir() ? null : "PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are missing";

const isRoot = process.getuid?.() === 0;
function run(program, args) {
  const [cmd, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", program, ...args]] : [program, args];
  return execFileSync(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] }).toString();
}

export async function startPrivatePostgres() {
  const bin = bindir();
  if (!bin) throw new Error(postgresServerMissing);
  const dir = mkdtempSync(path.join(tmpdir(), "authkeep-pg-"));
  chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  run(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const pgCtl = (...args) => run(path.join(bin, "pg_ctl"), ["-D", data, "-l", path.join(dir, "log"), ...args]);
  pgCtl("-w", "start", "-o", options);
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    /** Stops at once: connections cut, as a crash or a failover does. */
    down() {
      pgCtl("-m", "immediate", "-w", "stop");
    },
    up() {
      pgCtl("-w", "start", "-o", options);
    },
    stop() {
      try { pgCtl("-m", "immediate", "-w", "stop"); } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
