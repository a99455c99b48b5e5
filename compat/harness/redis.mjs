// Redis helpers for tests that share the machine's Redis: a random key prefix per run, a dump of
// the keys under it (value and TTL), and a clean-up that deletes only those keys (never FLUSHALL).
// A private redis-server on a free port (startPrivateRedis) for tests that must stop Redis.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { freePort } from "./servers.mjs";

export const REDIS_URL = process.env.AUTHKEEP_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export function randomPrefix(label = "compat") {
  return `authkeep-${label}-${randomBytes(4).toString("hex")}:`;
}

export function redisClient(url = REDIS_URL) {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** Every key under `prefix` (prefix stripped) -> { value, ttl } (ttl -1: none). */
export async function dumpKeys(client, prefix) {
  const out = {};
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, "MATCH", `${prefix.replace(/[\\*?[\]]/g, "\\$&")}*`, "COUNT", 200);
    cursor = next;
    for (const key of batch) {
      const [value, ttl] = await Promise.all([client.get(key), client.ttl(key)]);
      if (value !== null) out[key.slice(prefix.length)] = { value, ttl };
    }
  } while (cursor !== "0");
  return out;
}

/** Deletes the keys under `prefix` only. */
export async function clearPrefix(client, prefix) {
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, "MATCH", `${prefix.replace(/[\\*?[\]]/g, "\\$&")}*`, "COUNT", 200);
    cursor = next;
    if (batch.length) await client.del(...batch);
  } while (cursor !== "0");
}

/** A throw-away redis-server (no persistence) on a free (or the given) loopback port; stop() kills it by pid. */
export async function startPrivateRedis({ port, bin = process.env.AUTHKEEP_TEST_REDIS_SERVER ?? "redis-server" } = {}) {
  port ??= await freePort();
  const child = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const url = `redis://127.0.0.1:${port}`;
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    const probe = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    probe.on("error", () => {});
    try { await probe.connect(); up = (await probe.ping()) === "PONG"; } catch {}
    probe.disconnect();
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  if (!up) { child.kill("SIGKILL"); throw new Error(`redis-server did not start on port ${port}`); }
  return {
    url,
    port,
    stop: () => new Promise((r) => { if (child.exitCode !== null || child.signalCode !== null) return r(); child.once("exit", () => r()); child.kill("SIGKILL"); }),
  };
}
