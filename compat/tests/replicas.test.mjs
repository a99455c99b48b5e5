// Three authkeep replicas behind Debian's nginx, over one PostgreSQL and one Redis (better-auth's
// secondary storage), as docs/deployment.md describes: a session made on one replica is used and
// revoked on the others, rate limits are shared, every replica serves the same JWKS, a replica
// killed under load costs no request beyond the ones it had in flight, and a PostgreSQL restart
// loses no session. PostgreSQL is a private cluster (it is restarted here); Redis is the
// machine's, under a random key prefix that is deleted afterwards.
//
// Needs nginx, PostgreSQL's server binaries and Redis: skipped without them, failed without them
// when AUTHKEEP_TEST_REQUIRE_SERVICES is set.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Browser } from "../harness/browser.mjs";
import { nginxMissing, startNginx } from "../harness/nginx.mjs";
import { postgresServerMissing, startPrivatePostgres } from "../harness/private-postgres.mjs";
import { REDIS_URL, clearPrefix, dumpKeys, randomPrefix, redisClient } from "../harness/redis.mjs";
import { freePort, startAuthkeep } from "../harness/servers.mjs";

async function redisMissing() {
  const c = redisClient();
  c.on("error", () => {});
  try { return (await c.ping()) === "PONG" ? null : "Redis did not answer PING"; } catch (e) { return `Redis at ${REDIS_URL} is unreachable: ${e.message}`; } finally { c.disconnect(); }
}
const missing = nginxMissing ?? postgresServerMissing ?? (await redisMissing());
if (missing && process.env.AUTHKEEP_TEST_REQUIRE_SERVICES) {
  test("nginx, PostgreSQL and Redis are there for the replica test", () => assert.fail(missing));
}

const PASSWORD = "password1234";

describe("three replicas behind nginx over PostgreSQL and Redis", { skip: missing ?? false }, () => {
  let pg, redis, prefix, dir, nginx, replicas = [], front;

  before(async () => {
    pg = await startPrivatePostgres();
    redis = redisClient();
    prefix = randomPrefix("replicas");
    dir = mkdtempSync(path.join(tmpdir(), "authkeep-replicas-"));
    const config = path.join(dir, "authkeep.toml");
    writeFileSync(config, `
[secondary_storage]
url = "${REDIS_URL}"
key_prefix = "${prefix}"

[rate_limit]
enabled = true
storage = "secondary-storage"
# The global rule high enough for the load below; sign-in keeps better-auth's 3 per 10 s.
max = 1000000

[advanced.ip_address]
trusted_proxies = ["127.0.0.1/32"]
`);
    const nginxPort = await freePort();
    front = `http://127.0.0.1:${nginxPort}`;
    const ports = [await freePort(), await freePort(), await freePort()];
    // One replica first, so that one process migrates; the others find the schema in place.
    for (const port of ports) {
      replicas.push(await startAuthkeep({ databaseUrl: pg.url, port, baseUrl: front, config, env: { BETTER_AUTH_TRUSTED_ORIGINS: front } }));
    }
    nginx = await startNginx(ports.map((p) => `127.0.0.1:${p}`), { port: nginxPort });
  });

  after(async () => {
    await nginx?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    if (redis && prefix) await clearPrefix(redis, prefix);
    redis?.disconnect();
    pg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A browser whose requests go to `target` (a replica or nginx), as the app's origin. */
  function browserAt(target, jar = new Map(), headers = {}) {
    const b = new Browser({ origin: front, baseURL: `${target}/api/auth` });
    b.jar = new Map(jar);
    if (Object.keys(headers).length) {
      const fetchOne = b.fetch.bind(b);
      b.fetch = (url, init = {}) => fetchOne(url, { ...init, headers: { ...Object.fromEntries(new Headers(init.headers)), ...headers } });
    }
    return b;
  }

  test("a session made on one replica is used and revoked on the others", async () => {
    const [a, b, c] = replicas.map((r) => r.origin);
    const onA = browserAt(a, new Map(), { "x-forwarded-for": "198.51.100.1" });
    const up = await onA.client.signUp.email({ email: "roams@example.com", password: PASSWORD, name: "Roams" });
    assert.equal(up.error, null, JSON.stringify(up.error));
    for (const target of [b, c, front]) {
      const s = await browserAt(target, onA.jar).client.getSession();
      assert.equal(s.data?.user.email, "roams@example.com", target);
    }
    // The session lives in Redis, as better-auth keeps it with secondary storage.
    const keys = await dumpKeys(redis, prefix);
    assert.ok(keys[up.data.token], "the session is under its token in Redis");
    assert.ok(keys[`active-sessions-${up.data.user.id}`]);

    const listed = await browserAt(b, onA.jar).client.listSessions();
    assert.equal(listed.data.length, 1);
    await browserAt(c, onA.jar).client.revokeSession({ token: up.data.token });
    for (const target of [a, b, c, front]) {
      assert.equal((await browserAt(target, onA.jar).client.getSession()).data, null, target);
    }
  });

  test("rate limits are shared: the fourth sign-in from one client within 10 s is refused, whichever replica", async () => {
    const client = { "x-forwarded-for": "198.51.100.23" };
    const statuses = [];
    for (const r of [...replicas, replicas[0]]) {
      const res = await fetch(`${r.origin}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: front, ...client },
        body: JSON.stringify({ email: "nobody@example.com", password: "wrong-password" }),
      });
      statuses.push(res.status);
      if (res.status === 429) {
        assert.ok(Number(res.headers.get("x-retry-after")) > 0);
        assert.deepEqual(await res.json(), { message: "Too many requests. Please try again later." });
      }
    }
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    // Another client is not held back by the first one's bucket.
    const other = await fetch(`${front}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: front, "x-forwarded-for": "198.51.100.24" },
      body: JSON.stringify({ email: "nobody@example.com", password: "wrong-password" }),
    });
    assert.equal(other.status, 401);
  });

  test("every replica serves the same JWKS", async () => {
    const sets = await Promise.all(replicas.map(async (r) => (await fetch(`${r.origin}/api/auth/jwks`)).json()));
    assert.ok(sets[0].keys.length >= 1);
    assert.deepEqual(sets[1], sets[0]);
    assert.deepEqual(sets[2], sets[0]);
  });

  test("a replica killed under load costs no request beyond those in flight", async (t) => {
    const b = browserAt(front, new Map(), { "x-forwarded-for": "198.51.100.2" });
    await b.client.signUp.email({ email: "load@example.com", password: PASSWORD, name: "Load" });
    const cookie = b.cookieHeader();
    const LOOPS = 8;
    let stop = false, ok = 0;
    const failures = [];
    const loop = async () => {
      while (!stop) {
        try {
          const r = await fetch(`${front}/api/auth/get-session`, { headers: { cookie } });
          const body = await r.json();
          if (r.status === 200 && body?.user?.email === "load@example.com") ok++;
          else failures.push(`${r.status} ${JSON.stringify(body)}`);
        } catch (e) {
          failures.push(e.message);
        }
      }
    };
    const loops = Array.from({ length: LOOPS }, loop);
    await new Promise((r) => setTimeout(r, 1000));
    await replicas[1].kill();
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await Promise.all(loops);
    t.diagnostic(`${ok} answered, ${failures.length} failed, replica 2 killed after 1 s of 3`);
    assert.ok(ok > 100, `only ${ok} requests answered`);
    assert.ok(failures.length <= LOOPS, `${failures.length} failed (at most ${LOOPS} were in flight): ${failures.slice(0, 3)}`);
  });

  test("a PostgreSQL outage and restart lose no session: 503 while it is down, sign-in again by itself", async (t) => {
    const alive = replicas.filter((_, i) => i !== 1);
    const b = browserAt(alive[0].origin, new Map(), { "x-forwarded-for": "198.51.100.3" });
    const up = await b.client.signUp.email({ email: "survives@example.com", password: PASSWORD, name: "Survives" });
    assert.equal(up.error, null, JSON.stringify(up.error));
    pg.down();
    try {
      // While it is down: sign-in is a quick 503 with Retry-After, and sessions, which live in
      // Redis, keep answering.
      const started = Date.now();
      const r = await fetch(`${alive[1].origin}/api/auth/sign-in/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: front, "x-forwarded-for": "198.51.100.99" },
        body: JSON.stringify({ email: "survives@example.com", password: PASSWORD }),
      });
      assert.equal(r.status, 503, await r.text());
      assert.ok(r.headers.get("retry-after"));
      assert.ok(Date.now() - started < 5000, "quickly");
      const during = await browserAt(alive[0].origin, b.jar).client.getSession();
      assert.equal(during.data?.user.email, "survives@example.com", "get-session during the outage");
    } finally {
      pg.up();
    }
    const restarted = Date.now();
    let signedIn = null;
    const deadline = Date.now() + 20_000;
    for (let attempt = 0; !signedIn && Date.now() < deadline; attempt++) {
      // A client address per attempt: the retries are not what the rate limiter is about.
      const client = { "x-forwarded-for": `198.51.100.${100 + (attempt % 150)}` };
      const r = await browserAt(alive[1].origin, new Map(), client).client.signIn.email({ email: "survives@example.com", password: PASSWORD });
      if (r.data?.token) signedIn = r.data;
      else {
        assert.equal(r.error?.status, 503, JSON.stringify(r.error));
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    assert.ok(signedIn, "sign-in works again after the restart");
    t.diagnostic(`sign-in answered again ${Date.now() - restarted} ms after PostgreSQL was back`);
    for (const r of alive) {
      const s = await browserAt(r.origin, b.jar).client.getSession();
      assert.equal(s.data?.user.email, "survives@example.com", "the session from before the restart");
    }
  });
});
