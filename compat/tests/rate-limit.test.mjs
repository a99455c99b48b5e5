// Rate limiting, differential: a real better-auth 1.7.25 (harness/production-options.mjs) and
// authkeep with the same options get the same request sequences, and every answer must agree in
// status, body, Content-Type and X-Retry-After: the special and global rules, custom rules
// (values, wildcards, `false`), client-IP resolution (IPv6 by /64, IPv4-mapped, chains without
// trusted proxies, trusted proxies walked from the right, other IP headers), window reset, and
// memory and database storage (also under concurrency: exactly `max` of a burst pass).
//
// Each server has its own PostgreSQL database. authkeep's per-account sign-in limit (beyond
// better-auth) is turned off here so the options match; the Rust tests cover it. Requests without
// a usable address land in one shared bucket on both (better-auth's "no-trusted-ip", authkeep's
// connection address), so sequences never mix those with an explicit 127.0.0.1.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { query } from "../harness/catalog.mjs";
import { REDIS_URL, clearPrefix, dumpKeys, randomPrefix, redisClient } from "../harness/redis.mjs";
import { createPgDatabase, sqliteFile, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";

const dbs = [];
let tmp;
before(() => { tmp = mkdtempSync(path.join(tmpdir(), "authkeep-rl-")); });
after(async () => {
  for (const d of dbs) await d.drop();
  rmSync(tmp, { recursive: true, force: true });
});

/** better-auth's environment for `o` (production-options.mjs). */
function betterAuthEnv(o) {
  return {
    RATE_LIMIT_ENABLED: "true",
    ...(o.window ? { RATE_LIMIT_WINDOW: String(o.window) } : {}),
    ...(o.max ? { RATE_LIMIT_MAX: String(o.max) } : {}),
    ...(o.storage ? { RATE_LIMIT_STORAGE: o.storage } : {}),
    ...(o.customRules ? { RATE_LIMIT_CUSTOM_RULES: JSON.stringify(o.customRules) } : {}),
    ...(o.trustedProxies ? { TRUSTED_PROXIES: o.trustedProxies.join(",") } : {}),
    ...(o.ipHeaders ? { IP_ADDRESS_HEADERS: o.ipHeaders.join(",") } : {}),
    ...(o.disableIpTracking ? { DISABLE_IP_TRACKING: "true" } : {}),
    ...(o.redisPrefix ? { REDIS_URL, REDIS_KEY_PREFIX: o.redisPrefix.ba } : {}),
  };
}

/** The same options as authkeep.toml. */
function authkeepToml(o) {
  const lines = ["[rate_limit]", "enabled = true"];
  if (o.window) lines.push(`window = ${o.window}`);
  if (o.max) lines.push(`max = ${o.max}`);
  if (o.storage) lines.push(`storage = "${o.storage}"`);
  lines.push("[rate_limit.account]", "max_failures = 0");
  for (const [p, r] of Object.entries(o.customRules ?? {})) {
    lines.push(`[rate_limit.custom_rules."${p}"]`, r === false ? "disabled = true" : `window = ${r.window}\nmax = ${r.max}`);
  }
  lines.push("[advanced.ip_address]");
  if (o.trustedProxies) lines.push(`trusted_proxies = ${JSON.stringify(o.trustedProxies)}`);
  if (o.ipHeaders) lines.push(`ip_address_headers = ${JSON.stringify(o.ipHeaders)}`);
  if (o.disableIpTracking) lines.push("disable_ip_tracking = true");
  if (o.redisPrefix) lines.push("[secondary_storage]", `url = "${REDIS_URL}"`, `key_prefix = "${o.redisPrefix.ak}"`);
  const file = path.join(tmp, `authkeep-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

/** Starts both servers with options `o` (on SQLite files with `o.sqlite`), runs `fn({ ba, ak })`, stops them. */
async function withBoth(o, fn) {
  const fresh = o.sqlite ? sqliteFile : createPgDatabase;
  const [dbA, dbB] = [await fresh(), await fresh()];
  dbs.push(dbA, dbB);
  const ba = o.sqlite
    ? await startBetterAuth({ env: { ...betterAuthEnv(o), SQLITE_PATH: dbA.url.slice("sqlite://".length) } })
    : await startBetterAuth({ databaseUrl: dbA.url, env: betterAuthEnv(o) });
  let ak;
  try {
    ak = await startAuthkeep({ databaseUrl: dbB.url, config: authkeepToml(o) });
    return await fn({ ba, ak, dbs: { ba: dbA, ak: dbB } });
  } finally {
    await ba.stop();
    await ak?.stop();
  }
}

/** One request; what the comparison looks at. */
async function req(server, [method, p, { body, headers = {} } = {}]) {
  const h = new Headers(headers);
  h.set("origin", server.origin);
  if (body !== undefined) h.set("content-type", "application/json");
  const res = await fetch(`${server.baseURL}${p}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), redirect: "manual" });
  const text = await res.text();
  const limited = res.status === 429;
  return {
    request: `${method} ${p} ${JSON.stringify(headers)}`,
    status: res.status,
    // Only the limiter's own answers are compared in full; others by status.
    ...(limited ? { body: JSON.parse(text), contentType: res.headers.get("content-type"), retryAfter: res.headers.get("x-retry-after"), standardRetryAfter: res.headers.get("retry-after") } : {}),
  };
}

/** Runs `steps` on each server in turn and asserts the answers agree; returns them. */
async function same({ ba, ak }, steps) {
  const a = [];
  for (const s of steps) a.push(await req(ba, s));
  const k = [];
  for (const s of steps) k.push(await req(ak, s));
  assert.deepEqual(k, a);
  return a;
}

const xff = (v) => ({ headers: { "x-forwarded-for": v } });
const wrong = (ip) => ["POST", "/sign-in/email", { body: { email: "nobody@example.com", password: "wrong-password" }, ...xff(ip) }];
const times = (n, step) => Array.from({ length: n }, () => step);
const TOO_MANY = { message: "Too many requests. Please try again later." };

describe("rate limiting: better-auth and authkeep answer alike", () => {
  test("memory: special and global rules, unknown paths, trailing slashes, IPv6 and chains", async () => {
    await withBoth({ max: 3, window: 10 }, async (s) => {
      const answers = await same(s, [
        ...times(4, wrong("203.0.113.7")),
        wrong("203.0.113.8"),
        ...times(4, ["POST", "/sign-up/email", { body: { name: "x", email: "not-an-email", password: "password123" }, ...xff("203.0.113.7") }]),
        ...times(4, ["POST", "/forget-password/x", { body: { email: "x@example.com" }, ...xff("198.51.100.1") }]),
        ...times(2, ["GET", "/get-session", xff("192.0.2.1")]),
        ["GET", "/get-session/", xff("192.0.2.1")],
        ["GET", "/get-session", xff("192.0.2.1")],
        ...times(4, ["GET", "/no-such-path", xff("192.0.2.1")]),
        ["GET", "/ok", xff("2001:db8:1:2::1")],
        ["GET", "/ok", xff("2001:DB8:1:2:ffff::2")],
        ["GET", "/ok", xff("2001:db8:1:2::3")],
        ["GET", "/ok", xff("2001:db8:1:2:abcd::4")],
        ["GET", "/ok", xff("2001:db8:1:3::1")],
        ...times(3, ["GET", "/ok", xff("192.0.2.77")]),
        ["GET", "/ok", xff("::ffff:192.0.2.77")],
        ...times(4, wrong("6.6.6.6, 7.7.7.7")),
      ]);
      const limited = answers.filter((a) => a.status === 429);
      assert.ok(limited.length >= 8, JSON.stringify(answers));
      for (const a of limited) {
        assert.deepEqual(a.body, TOO_MANY);
        assert.equal(a.contentType, "application/json");
        assert.equal(a.standardRetryAfter, null);
      }
      assert.equal(answers[3].retryAfter, "10");
      assert.equal(answers[12].retryAfter, "60");
    });
  });

  test("custom rules: values, wildcards and false", async () => {
    const customRules = { "/get-session": { window: 5, max: 2 }, "/ok": false, "/sign-in/*": { window: 30, max: 1 } };
    await withBoth({ customRules }, async (s) => {
      const answers = await same(s, [
        ...times(3, ["GET", "/get-session", xff("9.9.9.9")]),
        ...times(5, ["GET", "/ok", xff("9.9.9.9")]),
        ...times(2, wrong("9.9.9.9")),
        ...times(4, ["POST", "/sign-up/email", { body: {}, ...xff("9.9.9.9") }]),
      ]);
      assert.deepEqual(answers.map((a) => a.status).slice(0, 10), [200, 200, 429, 200, 200, 200, 200, 200, 401, 429]);
      assert.equal(answers[9].retryAfter, "30");
    });
  });

  test("trusted proxies, other IP headers and disableIpTracking", async () => {
    // 127.0.0.1 is the test client's own address: authkeep counts forwarded headers only from
    // a trusted proxy; listing it changes nothing for better-auth.
    await withBoth({ trustedProxies: ["10.0.0.0/8", "127.0.0.1"] }, async (s) => {
      await same(s, [
        wrong("1.1.1.1, 198.51.100.4, 10.0.0.7"),
        wrong("2.2.2.2, 198.51.100.4, 10.0.0.7"),
        wrong("198.51.100.4"),
        wrong("3.3.3.3, 198.51.100.4, 10.0.0.7"),
        wrong("198.51.100.5, 10.0.0.7"),
        ...times(4, wrong("1.2.3.8, garbage, 10.0.0.1")),
      ]);
    });
    await withBoth({ ipHeaders: ["x-real-ip", "cf-connecting-ip"] }, async (s) => {
      const h = (real, cf) => ({ headers: { "x-forwarded-for": "1.1.1.1", "x-real-ip": real, "cf-connecting-ip": cf } });
      const signIn = (hdrs) => ["POST", "/sign-in/email", { body: { email: "nobody@example.com", password: "wrong-password" }, ...hdrs }];
      await same(s, [
        ...times(3, signIn(h("2.2.2.2", "3.3.3.3"))),
        signIn(h("2.2.2.2, 4.4.4.4", "3.3.3.3")),
        signIn(h("2.2.2.2", "5.5.5.5")),
      ]);
    });
    await withBoth({ disableIpTracking: true }, async (s) => {
      await same(s, times(5, wrong("1.2.3.4")));
    });
  });

  test("the window slides from the last allowed request and resets", async () => {
    await withBoth({ window: 2, max: 1 }, async (s) => {
      for (const server of [s.ba, s.ak]) {
        const first = await req(server, ["GET", "/get-session", xff("192.0.2.5")]);
        const second = await req(server, ["GET", "/get-session", xff("192.0.2.5")]);
        assert.deepEqual([first.status, second.status, second.retryAfter], [200, 429, "2"], server.label);
        await new Promise((r) => setTimeout(r, 2100));
        assert.equal((await req(server, ["GET", "/get-session", xff("192.0.2.5")])).status, 200, server.label);
      }
    });
  });

  test("database storage: same answers, one row per bucket, exactly max of a concurrent burst", async () => {
    await withBoth({ storage: "database", customRules: { "/get-session": { window: 60, max: 5 } } }, async (s) => {
      await same(s, [...times(4, wrong("203.0.113.7")), wrong("203.0.113.8")]);
      const burst = async (server) => {
        const all = await Promise.all(Array.from({ length: 20 }, () => req(server, ["GET", "/get-session", xff("203.0.113.50")])));
        return all.map((a) => a.status).sort();
      };
      const [a, k] = [await burst(s.ba), await burst(s.ak)];
      assert.deepEqual(k, a);
      assert.equal(a.filter((x) => x === 200).length, 5);
      for (const [who, db] of Object.entries(s.dbs)) {
        const rows = await query(db.url, `select key, count, "lastRequest" from "rateLimit" order by key`);
        assert.deepEqual(rows.map((r) => [r.key, Number(r.count)]), [
          ["203.0.113.50|/get-session", 5],
          ["203.0.113.7|/sign-in/email", 3],
          ["203.0.113.8|/sign-in/email", 1],
        ], who);
      }
      const columns = async (db) => (await query(db.url, `select column_name, data_type from information_schema.columns where table_name = 'rateLimit' order by column_name`)).map((r) => `${r.column_name}:${r.data_type}`);
      assert.deepEqual(await columns(s.dbs.ak), await columns(s.dbs.ba));
    });
  });

  test("database storage on SQLite: same answers and the same rateLimit table", async () => {
    await withBoth({ sqlite: true, storage: "database", window: 60, max: 2 }, async (s) => {
      await same(s, [...times(4, wrong("203.0.113.7")), ...times(3, ["GET", "/get-session", xff("192.0.2.1")])]);
      const info = async (db) => (await query(db.url, `select name, type, "notnull", pk from pragma_table_info('rateLimit') order by name`)).map((r) => `${r.name}:${r.type}:${r.notnull}:${r.pk}`);
      assert.deepEqual(await info(s.dbs.ak), await info(s.dbs.ba));
      for (const db of Object.values(s.dbs)) {
        const rows = await query(db.url, `select key, count from "rateLimit" order by key`);
        assert.deepEqual(rows.map((r) => [r.key, Number(r.count)]), [["192.0.2.1|/get-session", 2], ["203.0.113.7|/sign-in/email", 3]]);
      }
    });
  });

  test("secondary storage (Redis, the default storage with it): same answers, same keys, fixed window", async () => {
    const redis = redisClient();
    const redisPrefix = { ba: randomPrefix("rl-ba"), ak: randomPrefix("rl-ak") };
    try {
      await withBoth({ redisPrefix, customRules: { "/get-session": { window: 60, max: 5 } } }, async (s) => {
        const answers = await same(s, [...times(4, wrong("203.0.113.7")), wrong("203.0.113.8")]);
        assert.equal(answers[3].retryAfter, "10", "the whole window, as better-auth's fixed window says");
        const burst = async (server) => {
          const all = await Promise.all(Array.from({ length: 20 }, () => req(server, ["GET", "/get-session", xff("203.0.113.50")])));
          return all.map((a) => a.status).sort();
        };
        const [a, k] = [await burst(s.ba), await burst(s.ak)];
        assert.deepEqual(k, a);
        assert.equal(a.filter((x) => x === 200).length, 5);
        const counters = async (prefix) => Object.fromEntries(Object.entries(await dumpKeys(redis, prefix))
          .filter(([key]) => key.includes("|"))
          .map(([key, { value, ttl }]) => [key, { value, ttlWithinWindow: ttl > 0 && ttl <= (key.endsWith("/get-session") ? 60 : 10) }]));
        const [ba, ak] = [await counters(redisPrefix.ba), await counters(redisPrefix.ak)];
        assert.deepEqual(ak, ba);
        assert.deepEqual(ba["203.0.113.7|/sign-in/email"], { value: "4", ttlWithinWindow: true });
        assert.deepEqual(ba["203.0.113.50|/get-session"], { value: "20", ttlWithinWindow: true });
      });
    } finally {
      await clearPrefix(redis, redisPrefix.ba);
      await clearPrefix(redis, redisPrefix.ak);
      redis.disconnect();
    }
  });
});
