// Proves the better-auth side of the harness for production sessions on its own (no authkeep):
// the env vars of better-auth-server.mjs (harness/production-options.mjs) turn on rate limiting,
// the session cookie cache, cookie attributes, client-IP resolution and Redis as secondary
// storage, and a real better-auth 1.7.25 then behaves as its source says (cookie cache, rate limiter, redis-storage).
// Redis: the machine's Redis under a random key prefix (only those keys are deleted), plus a
// private redis-server on a free port for the "Redis down" cases.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { query } from "../harness/catalog.mjs";
import { decodeCompact, decodeJwt, decryptJwe, encodeCompact, encodeJwt, encryptJwe, jweKey, signCookieValue } from "../harness/cookie-cache.mjs";
import { REDIS_URL, clearPrefix, dumpKeys, randomPrefix, redisClient, startPrivateRedis } from "../harness/redis.mjs";
import { SECRET, createPgDatabase, startBetterAuth } from "../harness/servers.mjs";

let db;
let redis;
const prefix = randomPrefix("sessions");

// Redis is one of the machine's services (like PostgreSQL). Without it the tests that need it are
// skipped, unless AUTHKEEP_TEST_REQUIRE_SERVICES is set (CI), where they fail.
async function redisAnswers() {
  const probe = redisClient();
  probe.on("error", () => {});
  try { return (await Promise.race([probe.ping(), new Promise((r) => setTimeout(() => r(null), 2000))])) === "PONG"; } catch { return false; } finally { probe.disconnect(); }
}
const redisUp = await redisAnswers();
const needsRedis = { skip: !redisUp && !process.env.AUTHKEEP_TEST_REQUIRE_SERVICES ? `Redis does not answer at ${REDIS_URL}` : false };

before(async () => {
  db = await createPgDatabase();
  redis = redisClient();
  redis.on("error", () => {});
});

after(async () => {
  if (redis) {
    if (redisUp) await clearPrefix(redis, prefix);
    redis.disconnect();
  }
  await db?.drop();
});

/** Starts a better-auth with `env`, runs `fn(server)`, always stops it. */
async function withServer(env, fn) {
  const server = await startBetterAuth({ databaseUrl: db.url, env });
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** A cookie-keeping client that shows everything of an answer. */
class Client {
  constructor(server) {
    this.server = server;
    this.jar = new Map();
  }
  cookie() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  async req(method, path, { body, headers = {}, cookie } = {}) {
    const h = new Headers(headers);
    h.set("origin", this.server.origin);
    const c = cookie ?? this.cookie();
    if (c) h.set("cookie", c);
    if (body !== undefined) h.set("content-type", "application/json");
    const res = await fetch(`${this.server.baseURL}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), redirect: "manual" });
    const setCookies = res.headers.getSetCookie();
    for (const sc of setCookies) {
      const pair = sc.split(";")[0];
      const i = pair.indexOf("=");
      if (/;\s*Max-Age=0/i.test(sc)) this.jar.delete(pair.slice(0, i));
      else this.jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch {}
    return { status: res.status, headers: res.headers, setCookies, text, body: json };
  }
}

const xff = (v) => ({ "x-forwarded-for": v });
const TOO_MANY = { message: "Too many requests. Please try again later." };
const email = () => `${Math.random().toString(36).slice(2, 10)}@example.com`;
const signUp = (c, e, extra = {}) => c.req("POST", "/sign-up/email", { body: { email: e, password: "password123", name: "Harness", ...extra.body }, headers: extra.headers });
const wrongSignIn = (c, ip) => c.req("POST", "/sign-in/email", { body: { email: "nobody@example.com", password: "wrong-password" }, headers: ip ? xff(ip) : {} });
const setCookie = (r, name) => r.setCookies.find((c) => c.startsWith(`${name}=`));
/** Keys under a prefix of the shared Redis, prefix stripped. */
const keysOf = async (p) => dumpKeys(redis, p);

describe("rate limiting", () => {
  test("memory (default storage): 3 sign-ins per 10 s per IP, then 429 with X-Retry-After and better-auth's body", async () => {
    await withServer({ RATE_LIMIT_ENABLED: "true" }, async (s) => {
      const c = new Client(s);
      for (let i = 0; i < 3; i++) assert.equal((await wrongSignIn(c, "203.0.113.7")).status, 401);
      const limited = await wrongSignIn(c, "203.0.113.7");
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get("x-retry-after"), "10");
      assert.equal(limited.headers.get("retry-after"), null);
      assert.equal(limited.headers.get("content-type"), "application/json");
      assert.deepEqual(limited.body, TOO_MANY);
      // Another address has its own bucket; a refused request does not move the window.
      assert.equal((await wrongSignIn(c, "203.0.113.8")).status, 401);
      await new Promise((r) => setTimeout(r, 2100));
      const later = await wrongSignIn(c, "203.0.113.7");
      assert.equal(later.status, 429);
      assert.ok(["7", "8"].includes(later.headers.get("x-retry-after")), later.headers.get("x-retry-after"));
    });
  });

  test("secondary storage (the default with Redis): keys, TTL = window, fixed window, X-Retry-After = window", needsRedis, async () => {
    const p = randomPrefix("rl");
    try {
      await withServer({ RATE_LIMIT_ENABLED: "true", REDIS_URL, REDIS_KEY_PREFIX: p }, async (s) => {
        const c = new Client(s);
        for (let i = 0; i < 5; i++) await wrongSignIn(c, "203.0.113.7");
        let keys = await keysOf(p);
        assert.equal(keys["203.0.113.7|/sign-in/email"].value, "5"); // refused requests still INCR
        assert.ok(keys["203.0.113.7|/sign-in/email"].ttl <= 10 && keys["203.0.113.7|/sign-in/email"].ttl >= 8);
        const r = await wrongSignIn(c, "203.0.113.7");
        assert.equal(r.status, 429);
        assert.equal(r.headers.get("x-retry-after"), "10");
        // IPv6 by /64, IPv4-mapped to IPv4, a two-hop header (no trusted proxies) and no header at all.
        await c.req("GET", "/ok", { headers: xff("2001:db8:abcd:12::1") });
        await c.req("GET", "/ok", { headers: xff("2001:DB8:ABCD:12:ffff::2") });
        await c.req("GET", "/ok", { headers: xff("::ffff:192.0.2.33") });
        await c.req("GET", "/ok", { headers: xff("6.6.6.6, 1.2.3.4") });
        await c.req("GET", "/ok");
        await c.req("GET", "/no-such-path/", { headers: xff("198.51.100.1") }); // 404s count too
        keys = await keysOf(p);
        assert.equal(keys["2001:0db8:abcd:0012:0000:0000:0000:0000|/ok"].value, "2");
        assert.equal(keys["192.0.2.33|/ok"].value, "1");
        assert.equal(keys["no-trusted-ip|/ok"].value, "2"); // NODE_ENV unset: no 127.0.0.1 fallback
        assert.equal(keys["198.51.100.1|/no-such-path"].value, "1");
        // The special rules and their windows (TTL of the first INCR).
        for (const path of ["/sign-up/email", "/change-password", "/request-password-reset", "/send-verification-email", "/forget-password/x", "/get-session"]) {
          await c.req("POST", path, { body: {}, headers: xff("8.8.8.8") });
        }
        keys = await keysOf(p);
        const ttl = (path) => keys[`8.8.8.8|${path}`].ttl;
        assert.ok(ttl("/sign-up/email") <= 10 && ttl("/change-password") <= 10 && ttl("/get-session") <= 10);
        assert.ok(ttl("/request-password-reset") > 50 && ttl("/send-verification-email") > 50 && ttl("/forget-password/x") > 50);
      });
    } finally {
      await clearPrefix(redis, p);
    }
  });

  test("trusted proxies, IP headers, custom rules and disableIpTracking", needsRedis, async () => {
    const p = randomPrefix("rl");
    try {
      await withServer({ RATE_LIMIT_ENABLED: "true", REDIS_URL, REDIS_KEY_PREFIX: p, TRUSTED_PROXIES: "10.0.0.0/8,2001:db8:ffff::/48" }, async (s) => {
        const c = new Client(s);
        for (const v of ["6.6.6.6, 1.2.3.4, 10.0.0.1", "6.6.6.6,1.2.3.6", "10.0.0.1, 10.0.0.2", "1.2.3.8, garbage, 10.0.0.1", "1.2.3.9, 2001:db8:ffff::5", "10.9.9.9"]) {
          await c.req("GET", "/ok", { headers: xff(v) });
        }
        const keys = await keysOf(p);
        assert.deepEqual(Object.keys(keys).sort(), ["1.2.3.4|/ok", "1.2.3.6|/ok", "1.2.3.9|/ok", "no-trusted-ip|/ok"]);
        assert.equal(keys["no-trusted-ip|/ok"].value, "3"); // all hops trusted, an invalid hop, a lone trusted hop
      });
      await clearPrefix(redis, p);
      await withServer({ RATE_LIMIT_ENABLED: "true", REDIS_URL, REDIS_KEY_PREFIX: p, IP_ADDRESS_HEADERS: "x-real-ip,cf-connecting-ip" }, async (s) => {
        const c = new Client(s);
        await c.req("GET", "/ok", { headers: { "x-forwarded-for": "1.1.1.1", "x-real-ip": "2.2.2.2", "cf-connecting-ip": "3.3.3.3" } });
        await c.req("GET", "/ok", { headers: { "x-forwarded-for": "1.1.1.1", "x-real-ip": "2.2.2.2, 4.4.4.4", "cf-connecting-ip": "3.3.3.3" } });
        await c.req("GET", "/ok", { headers: { "x-forwarded-for": "1.1.1.1" } });
        assert.deepEqual(Object.keys(await keysOf(p)).sort(), ["2.2.2.2|/ok", "3.3.3.3|/ok", "no-trusted-ip|/ok"]);
      });
      await clearPrefix(redis, p);
      const rules = { "/get-session": { window: 5, max: 2 }, "/ok": false, "/sign-in/*": { window: 30, max: 1 } };
      await withServer({ RATE_LIMIT_ENABLED: "true", REDIS_URL, REDIS_KEY_PREFIX: p, RATE_LIMIT_CUSTOM_RULES: JSON.stringify(rules) }, async (s) => {
        const c = new Client(s);
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await c.req("GET", "/get-session", { headers: xff("9.9.9.9") })).status);
        assert.deepEqual(statuses, [200, 200, 429]);
        assert.equal((await c.req("GET", "/get-session", { headers: xff("9.9.9.9") })).headers.get("x-retry-after"), "5");
        for (let i = 0; i < 3; i++) assert.equal((await c.req("GET", "/ok", { headers: xff("9.9.9.9") })).status, 200);
        assert.equal((await wrongSignIn(c, "9.9.9.9")).status, 401);
        const r = await wrongSignIn(c, "9.9.9.9");
        assert.equal(r.status, 429);
        assert.equal(r.headers.get("x-retry-after"), "30");
        assert.deepEqual(Object.keys(await keysOf(p)).sort(), ["9.9.9.9|/get-session", "9.9.9.9|/sign-in/email"]);
      });
      await clearPrefix(redis, p);
      await withServer({ RATE_LIMIT_ENABLED: "true", REDIS_URL, REDIS_KEY_PREFIX: p, DISABLE_IP_TRACKING: "true" }, async (s) => {
        const c = new Client(s);
        for (let i = 0; i < 5; i++) assert.equal((await wrongSignIn(c, "1.2.3.4")).status, 401);
        assert.deepEqual(await keysOf(p), {});
      });
      await clearPrefix(redis, p);
      // NODE_ENV=production turns it on by default (RATE_LIMIT_ENABLED=default leaves `enabled` out).
      await withServer({ NODE_ENV: "production", RATE_LIMIT_ENABLED: "default", REDIS_URL, REDIS_KEY_PREFIX: p }, async (s) => {
        await new Client(s).req("GET", "/ok");
        assert.deepEqual(Object.keys(await keysOf(p)), ["no-trusted-ip|/ok"]);
      });
      await clearPrefix(redis, p);
      await withServer({ NODE_ENV: "development", RATE_LIMIT_ENABLED: "default", REDIS_URL, REDIS_KEY_PREFIX: p }, async (s) => {
        await new Client(s).req("GET", "/ok");
        assert.deepEqual(await keysOf(p), {}); // off outside production
      });
    } finally {
      await clearPrefix(redis, p);
    }
  });

  test("database storage: the rateLimit table, atomic under concurrency, window from the last allowed request", async () => {
    await withServer({ RATE_LIMIT_ENABLED: "true", RATE_LIMIT_STORAGE: "database" }, async (s) => {
      const cols = await query(db.url, `select column_name, data_type, is_nullable from information_schema.columns where table_name = 'rateLimit' order by ordinal_position`);
      assert.deepEqual(cols.map((c) => [c.column_name, c.data_type, c.is_nullable]), [["id", "text", "NO"], ["key", "text", "NO"], ["count", "integer", "NO"], ["lastRequest", "bigint", "NO"]]);
      const c = new Client(s);
      const before = Date.now();
      for (let i = 0; i < 3; i++) assert.equal((await wrongSignIn(c, "4.4.4.4")).status, 401);
      const [row] = await query(db.url, `select * from "rateLimit" where key = '4.4.4.4|/sign-in/email'`);
      assert.equal(row.count, 3);
      assert.ok(Number(row.lastRequest) >= before && Number(row.lastRequest) <= Date.now());
      const r = await wrongSignIn(c, "4.4.4.4");
      assert.equal(r.status, 429);
      const [same] = await query(db.url, `select * from "rateLimit" where key = '4.4.4.4|/sign-in/email'`);
      assert.equal(same.count, 3); // a refusal writes nothing
      assert.equal(same.lastRequest, row.lastRequest);
      const statuses = await Promise.all(Array.from({ length: 10 }, () => wrongSignIn(c, "5.5.5.5").then((x) => x.status)));
      assert.equal(statuses.filter((x) => x === 401).length, 3, statuses.join(","));
      const [conc] = await query(db.url, `select count from "rateLimit" where key = '5.5.5.5|/sign-in/email'`);
      assert.equal(conc.count, 3);
    });
  });
});

describe("cookie cache", () => {
  const decoders = {
    compact: (v) => { const d = decodeCompact(v, SECRET); return { ok: d.signatureValid, payload: d.payload, expMs: d.expiresAt }; },
    jwt: (v) => { const d = decodeJwt(v, SECRET); const { iat, exp, ...payload } = d.claims; return { ok: d.signatureValid && d.header.alg === "HS256", payload, expMs: exp * 1000, iat }; },
    jwe: (v) => { const d = decryptJwe(v, SECRET); const { iat, exp, jti, ...payload } = d.claims; return { ok: d.tagValid && d.header.kid === jweKey(SECRET).kid && /^[0-9a-f-]{36}$/.test(jti), payload, expMs: exp * 1000, iat }; },
  };
  for (const strategy of ["compact", "jwt", "jwe"]) {
    test(`${strategy}: session_data format, served without the database, bypass, tamper and clear`, async () => {
      await withServer({ COOKIE_CACHE_STRATEGY: strategy, COOKIE_CACHE_MAX_AGE: "300" }, async (s) => {
        const c = new Client(s);
        const e = email();
        const up = await signUp(c, e, { headers: { "x-forwarded-for": "203.0.113.5", "user-agent": "harness/1.0" } });
        assert.equal(up.status, 200);
        assert.match(setCookie(up, "better-auth.session_data"), /^better-auth\.session_data=[^;]+; Max-Age=300; Path=\/; HttpOnly; SameSite=Lax$/);
        const d = decoders[strategy](decodeURIComponent(c.jar.get("better-auth.session_data")));
        assert.ok(d.ok);
        assert.deepEqual(Object.keys(d.payload), ["session", "user", "updatedAt", "version"]);
        assert.equal(d.payload.version, "1");
        assert.equal(d.payload.session.token, up.body.token);
        assert.equal(d.payload.session.ipAddress, "203.0.113.5");
        assert.equal(d.payload.user.email, e);
        assert.ok(Math.abs(d.expMs - (Date.now() + 300_000)) < 5000);
        if (strategy !== "compact") assert.equal(d.expMs / 1000 - d.iat, 300);

        // A cache hit touches neither the database nor the cookies: it survives the row's deletion.
        await query(db.url, `delete from session where token = '${up.body.token}'`);
        const hit = await c.req("GET", "/get-session");
        assert.equal(hit.status, 200);
        assert.equal(hit.body.session.token, up.body.token);
        assert.deepEqual(hit.setCookies, []);
        const jar = new Map(c.jar);
        const bypass = await c.req("GET", "/get-session?disableCookieCache=true");
        assert.equal(bypass.text, "null");
        assert.ok(bypass.setCookies.includes("better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"));
        c.jar = jar;

        // Tampered: expired, then re-issued from the database, in one answer.
        const si = await c.req("POST", "/sign-in/email", { body: { email: e, password: "password123" } });
        const good = c.jar.get("better-auth.session_data");
        c.jar.set("better-auth.session_data", `${good.slice(0, -4)}${good.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`);
        const t = await c.req("GET", "/get-session");
        assert.equal(t.body.session.token, si.body.token);
        assert.deepEqual(t.setCookies.map((x) => x.split("=")[0] + (x.includes("Max-Age=0") ? ":expired" : "")), ["better-auth.session_data:expired", "better-auth.session_data"]);

        // rememberMe=false: no Max-Age; compact caches for 60 s, jwt/jwe for 300 s.
        const dr = new Client(s);
        const r = await dr.req("POST", "/sign-in/email", { body: { email: e, password: "password123", rememberMe: false } });
        assert.match(setCookie(r, "better-auth.session_data"), /^better-auth\.session_data=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
        const dd = decoders[strategy](decodeURIComponent(dr.jar.get("better-auth.session_data")));
        const expected = strategy === "compact" ? 60_000 : 300_000;
        assert.ok(Math.abs(dd.expMs - Date.now() - expected) < 5000, `${dd.expMs - Date.now()}`);

        // Sign-out expires session_data (twice: the cookie and the chunk clean-up).
        const out = await c.req("POST", "/sign-out", { body: {} });
        assert.equal(out.setCookies.filter((x) => x === "better-auth.session_data=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax").length, 2);
      });
    });
  }

  test("cookies made with node:crypto (harness/cookie-cache.mjs) are accepted by better-auth for each strategy", async () => {
    const token = "HarnessToken0123456789abcdefABCD";
    const now = Date.now();
    const payload = {
      session: { expiresAt: new Date(now + 86_400_000).toISOString(), token, createdAt: new Date(now).toISOString(), updatedAt: new Date(now).toISOString(), ipAddress: "", userAgent: "harness", userId: "HarnessUser0123456789abcdefABCDE", id: "HarnessSession0123456789abcdefAB" },
      user: { name: "Made Here", email: "made@example.com", emailVerified: false, image: null, createdAt: new Date(now).toISOString(), updatedAt: new Date(now).toISOString(), id: "HarnessUser0123456789abcdefABCDE" },
      updatedAt: now,
      version: "1",
    };
    const iat = Math.floor(now / 1000);
    const made = {
      compact: encodeCompact(payload, now + 300_000, SECRET),
      jwt: encodeJwt({ ...payload, iat, exp: iat + 300 }, SECRET),
      jwe: encryptJwe({ ...payload, iat, exp: iat + 300, jti: crypto.randomUUID() }, SECRET),
    };
    const sessionToken = encodeURIComponent(signCookieValue(token, SECRET));
    for (const strategy of ["compact", "jwt", "jwe"]) {
      await withServer({ COOKIE_CACHE_STRATEGY: strategy }, async (s) => {
        // No such session or user in the database: only the cookie can answer.
        const r = await new Client(s).req("GET", "/get-session", { cookie: `better-auth.session_token=${sessionToken}; better-auth.session_data=${made[strategy]}` });
        assert.equal(r.status, 200, strategy);
        assert.equal(r.body?.user?.name, "Made Here", `${strategy}: ${r.text}`);
        assert.deepEqual(r.setCookies, []);
        // Another strategy's cookie is not accepted: jwt/jwe expire it and ask the database (no
        // session there: null); compact cannot base64url-decode a JWT (it has dots) and answers 500.
        const other = strategy === "compact" ? made.jwt : made.compact;
        const wrong = await new Client(s).req("GET", "/get-session", { cookie: `better-auth.session_token=${sessionToken}; better-auth.session_data=${other}` });
        if (strategy === "compact") {
          assert.equal(wrong.status, 500);
          assert.deepEqual(wrong.body, { message: "Failed to get session", code: "FAILED_TO_GET_SESSION" });
        } else assert.equal(wrong.text, "null");
      });
    }
  });
});

describe("golden vectors (fixtures/cookie-cache-vectors.json)", () => {
  const v = JSON.parse(readFileSync(new URL("../fixtures/cookie-cache-vectors.json", import.meta.url), "utf8"));
  test("the captured better-auth cookies verify with node:crypto, and the synthetic ones are reproduced exactly", () => {
    assert.equal(v.secret, SECRET);
    assert.equal(jweKey(SECRET).cek.toString("hex"), v.jwe.cekHex);
    assert.equal(jweKey(SECRET).kid, v.jwe.kid);
    const compact = decodeCompact(v.captured.compact.sessionDataValue, SECRET);
    assert.ok(compact.signatureValid);
    assert.equal(JSON.stringify({ ...compact.payload, expiresAt: compact.expiresAt }), v.captured.compact.signatureInput);
    assert.ok(decodeJwt(v.captured.jwt.sessionDataValue, SECRET).signatureValid);
    const jwe = decryptJwe(v.captured.jwe.sessionDataValue, SECRET);
    assert.ok(jwe.tagValid);
    assert.equal(jwe.plaintext, v.captured.jwe.plaintext);
    assert.equal(jwe.header.kid, v.jwe.kid);
    assert.ok(v.captured.compact.setCookieSessionToken.startsWith(`better-auth.session_token=${encodeURIComponent(signCookieValue(v.captured.compact.payload.session.token, SECRET))};`));
    assert.equal(encodeCompact(v.synthetic.payload, v.synthetic.compact.expiresAt, SECRET), v.synthetic.compact.value);
    assert.equal(encodeJwt(v.synthetic.jwt.claims, SECRET), v.synthetic.jwt.value);
    assert.equal(encryptJwe(v.synthetic.jwe.claims, SECRET, { iv: Buffer.from(v.synthetic.jwe.iv, "hex") }), v.synthetic.jwe.value);
  });
  test("better-auth 1.7.25 accepts each synthetic session_data (no session in the database)", async () => {
    for (const strategy of ["compact", "jwt", "jwe"]) {
      await withServer({ COOKIE_CACHE_STRATEGY: strategy }, async (s) => {
        const r = await new Client(s).req("GET", "/get-session", { cookie: `${v.synthetic.sessionTokenCookie}; better-auth.session_data=${v.synthetic[strategy].value}` });
        assert.equal(r.status, 200);
        assert.equal(r.body?.session?.token, v.synthetic.payload.session.token, `${strategy}: ${r.text}`);
        assert.equal(r.body.user.email, v.synthetic.payload.user.email);
        assert.deepEqual(r.setCookies, []);
      });
    }
  });
});

describe("cookie attributes", () => {
  const SOCIAL = JSON.stringify({ socialProviders: { google: { clientId: "client-id", clientSecret: "client-secret" } } });
  const attrs = (c) => c.split(";").slice(1).map((a) => a.trim()).filter((a) => !a.startsWith("Max-Age")).join("; ");
  async function cookiesOf(env) {
    return withServer({ COOKIE_CACHE_ENABLED: "true", SOCIAL, ...env }, async (s) => {
      const c = new Client(s);
      const up = await signUp(c, email(), { body: { rememberMe: false } });
      const state = await c.req("POST", "/sign-in/social", { body: { provider: "google", callbackURL: "/x" } });
      return [...up.setCookies, ...state.setCookies];
    });
  }
  test("sameSite none with and without partitioned; Secure is forced; every cookie incl. state and session_data", async () => {
    const none = await cookiesOf({ DEFAULT_COOKIE_ATTRIBUTES: JSON.stringify({ sameSite: "none" }) });
    assert.deepEqual(none.map((c) => c.split("=")[0]), ["better-auth.session_token", "better-auth.dont_remember", "better-auth.session_data", "better-auth.state"]);
    for (const c of none) assert.equal(attrs(c), "Path=/; HttpOnly; Secure; SameSite=None", c);
    const part = await cookiesOf({ DEFAULT_COOKIE_ATTRIBUTES: JSON.stringify({ sameSite: "none", partitioned: true }) });
    for (const c of part) assert.equal(attrs(c), "Path=/; HttpOnly; Secure; SameSite=None; Partitioned", c);
    assert.match(part.at(-1), /^better-auth\.state=[^;]+; Max-Age=300; Path=\/; HttpOnly; Secure; SameSite=None; Partitioned$/);
  });
  test("crossSubDomainCookies, domain attribute, useSecureCookies", async () => {
    for (const c of await cookiesOf({ CROSS_SUBDOMAIN_COOKIES: JSON.stringify({ enabled: true, domain: ".example.test" }) })) assert.equal(attrs(c), "Domain=.example.test; Path=/; HttpOnly; SameSite=Lax", c);
    for (const c of await cookiesOf({ CROSS_SUBDOMAIN_COOKIES: JSON.stringify({ enabled: true }) })) assert.equal(attrs(c), "Domain=127.0.0.1; Path=/; HttpOnly; SameSite=Lax", c);
    const secure = await cookiesOf({ USE_SECURE_COOKIES: "true", DEFAULT_COOKIE_ATTRIBUTES: JSON.stringify({ sameSite: "strict" }) });
    assert.deepEqual(secure.map((c) => c.split("=")[0]), ["__Secure-better-auth.session_token", "__Secure-better-auth.dont_remember", "__Secure-better-auth.session_data", "__Secure-better-auth.state"]);
    for (const c of secure) assert.equal(attrs(c), "Path=/; HttpOnly; Secure; SameSite=Strict", c);
  });
});

describe("secondary storage (@better-auth/redis-storage)", () => {
  for (const storeInDb of [false, true]) {
    test(`keys, values and TTLs with storeSessionInDatabase=${storeInDb}`, needsRedis, async () => {
      const p = `${prefix}${storeInDb ? "db" : "ss"}:`;
      const env = { REDIS_URL, REDIS_KEY_PREFIX: p, STORE_SESSION_IN_DATABASE: String(storeInDb), SOCIAL: JSON.stringify({ socialProviders: { google: { clientId: "id", clientSecret: "secret" } } }) };
      try {
        await withServer(env, async (s) => {
          const c = new Client(s);
          const up = await signUp(c, email(), { headers: { "x-forwarded-for": "203.0.113.9" } });
          const token = up.body.token;
          const uid = up.body.user.id;
          let keys = await keysOf(p);
          assert.deepEqual(Object.keys(keys).sort(), [token, `active-sessions-${uid}`].sort());
          const stored = JSON.parse(keys[token].value);
          assert.deepEqual(Object.keys(stored), ["session", "user"]);
          assert.equal(stored.session.token, token);
          assert.equal(stored.session.ipAddress, "203.0.113.9");
          assert.equal(stored.user.id, uid);
          assert.ok(keys[token].ttl >= 604790 && keys[token].ttl <= 604800);
          const list = JSON.parse(keys[`active-sessions-${uid}`].value);
          assert.deepEqual(list, [{ token, expiresAt: Date.parse(stored.session.expiresAt) }]);
          const rows = await query(db.url, `select count(*)::int as n from information_schema.tables where table_name = 'session'`);
          if (rows[0].n) {
            const inDb = await query(db.url, `select token from session where token = '${token}'`);
            assert.equal(inDb.length, storeInDb ? 1 : 0);
          }

          // update-user rewrites the embedded user of every listed session.
          await c.req("POST", "/update-user", { body: { name: "Renamed" } });
          assert.equal(JSON.parse((await keysOf(p))[token].value).user.name, "Renamed");

          // OAuth state lives in verification:auth-state:<state>, 600 s.
          const social = await c.req("POST", "/sign-in/social", { body: { provider: "google", callbackURL: "/x" } });
          const state = new URL(social.body.url).searchParams.get("state");
          keys = await keysOf(p);
          const v = JSON.parse(keys[`verification:auth-state:${state}`].value);
          assert.equal(v.identifier, `auth-state:${state}`);
          assert.equal(JSON.parse(v.value).oauthState, state);
          assert.ok(keys[`verification:auth-state:${state}`].ttl > 590);

          // revoke-sessions: revoked-sessions-before-<uid> = ms timestamp for max(expiresIn, 1 day).
          const c2 = new Client(s);
          await c2.req("POST", "/sign-in/email", { body: { email: up.body.user.email, password: "password123" } });
          const t0 = Date.now();
          await c.req("POST", "/revoke-sessions", { body: {} });
          keys = await keysOf(p);
          assert.equal(keys[token], undefined);
          assert.equal(keys[`active-sessions-${uid}`], undefined);
          const before = Number(keys[`revoked-sessions-before-${uid}`].value);
          assert.ok(before >= t0 - 50 && before <= Date.now());
          assert.ok(keys[`revoked-sessions-before-${uid}`].ttl > 604790);
          assert.equal((await c2.req("GET", "/get-session")).text, "null");

          // sign-out deletes the token key and empties (deletes) the list.
          const c3 = new Client(s);
          const si = await c3.req("POST", "/sign-in/email", { body: { email: up.body.user.email, password: "password123" } });
          assert.ok((await keysOf(p))[si.body.token]);
          await c3.req("POST", "/sign-out", { body: {} });
          keys = await keysOf(p);
          assert.equal(keys[si.body.token], undefined);
          assert.equal(keys[`active-sessions-${uid}`], undefined);
        });
      } finally {
        await clearPrefix(redis, p);
      }
    });
  }

  test("Redis down: get-session 500 FAILED_TO_GET_SESSION, recovery by itself; with Redis rate limiting the process dies", needsRedis, async () => {
    let r = await startPrivateRedis();
    try {
      await withServer({ REDIS_URL: r.url, REDIS_KEY_PREFIX: "down:", REDIS_MAX_RETRIES: "1" }, async (s) => {
        const c = new Client(s);
        const e = email();
        assert.equal((await signUp(c, e)).status, 200);
        await r.stop();
        const g = await c.req("GET", "/get-session");
        assert.equal(g.status, 500);
        assert.deepEqual(g.body, { message: "Failed to get session", code: "FAILED_TO_GET_SESSION" });
        const si = await c.req("POST", "/sign-in/email", { body: { email: e, password: "password123" } });
        assert.equal(si.status, 500);
        assert.equal(si.text, "");
        r = await startPrivateRedis({ port: r.port });
        let ok = null;
        for (let i = 0; i < 40 && !ok; i++) {
          await new Promise((res) => setTimeout(res, 250));
          const x = await c.req("POST", "/sign-in/email", { body: { email: e, password: "password123" } });
          if (x.status === 200) ok = x;
        }
        assert.ok(ok, "better-auth did not recover after Redis came back");
        assert.equal((await c.req("GET", "/get-session")).body.session.token, ok.body.token);
      });
      // The rate limiter's Redis error escapes toNodeHandler: an empty reply and a dead process.
      const s = await startBetterAuth({ databaseUrl: db.url, env: { REDIS_URL: r.url, REDIS_KEY_PREFIX: "down:", REDIS_MAX_RETRIES: "1", RATE_LIMIT_ENABLED: "true" } });
      let exited = false;
      try {
        await r.stop();
        await assert.rejects(fetch(`${s.baseURL}/ok`, { headers: xff("1.2.3.4"), signal: AbortSignal.timeout(20_000) }), (err) => err.name === "TypeError");
        for (let i = 0; i < 40; i++) {
          try { await fetch(`${s.origin}/health`, { signal: AbortSignal.timeout(500) }); } catch { exited = true; break; }
          await new Promise((res) => setTimeout(res, 100));
        }
        assert.ok(exited, "better-auth kept running");
      } finally {
        if (!exited) await s.stop();
      }
    } finally {
      await r.stop();
    }
  });
});
