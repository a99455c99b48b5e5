// authkeep and a real better-auth 1.7.25 (with @better-auth/redis-storage) sharing one
// PostgreSQL database, one Redis under one key prefix, and one secret: sessions made by either
// are used, listed and revoked on the other, and the keys, values and TTLs each writes in Redis
// have the same shape (ids, tokens, emails and times normalised).
// Redis is one of the machine's services: without it these tests are skipped, unless
// AUTHKEEP_TEST_REQUIRE_SERVICES is set (CI), where they fail.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Browser } from "../harness/browser.mjs";
import { REDIS_URL, clearPrefix, dumpKeys, randomPrefix, redisClient } from "../harness/redis.mjs";
import { startMailbox } from "../harness/mailbox.mjs";
import { authkeepEmailEnv, createPgDatabase, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";

async function redisAnswers() {
  const probe = redisClient();
  probe.on("error", () => {});
  try { return (await Promise.race([probe.ping(), new Promise((r) => setTimeout(() => r(null), 2000))])) === "PONG"; } catch { return false; } finally { probe.disconnect(); }
}
const redisUp = await redisAnswers();
const needsRedis = { skip: !redisUp && !process.env.AUTHKEEP_TEST_REQUIRE_SERVICES ? `Redis does not answer at ${REDIS_URL}` : false };

const PASSWORD = "password1234";
let n = 0;
const email = (label) => `ss-${label}-${Date.now()}-${n++}@example.com`;

/** The same browser's cookies, presented to the other server. */
function carry(from, to) {
  const b = new Browser(to);
  b.jar = new Map(from.jar);
  return b;
}

/** A value with its volatile parts replaced: ids and tokens, emails, ISO dates, ms epochs. */
function shape(value) {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  if (typeof value === "string") {
    if (/^[A-Za-z0-9]{32}$/.test(value)) return "<id>";
    if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value)) return "<date>";
    if (/@example\.com$/.test(value)) return "<email>";
    if (/^\d{13}$/.test(value)) return "<ms>";
    return value;
  }
  if (typeof value === "number" && value > 1e12) return "<ms>";
  return value;
}

/** A TTL in words: a week, a day's worth or more, or the number itself. */
function ttlShape(ttl) {
  if (ttl >= 604_790 && ttl <= 604_800) return "7d";
  return ttl;
}

/** The keys about one user (their sessions, list and revocation marker), by role. */
function userKeys(dump, uid, tokens) {
  const out = {};
  for (const [key, { value, ttl }] of Object.entries(dump)) {
    let role = null;
    if (key === `active-sessions-${uid}`) role = "active-sessions-<uid>";
    else if (key === `revoked-sessions-before-${uid}`) role = "revoked-sessions-before-<uid>";
    else if (tokens.includes(key)) role = `<token${tokens.indexOf(key)}>`;
    if (!role) continue;
    let parsed;
    try { parsed = JSON.parse(value); } catch { parsed = value; }
    const entry = parsed && typeof parsed === "object" && !Array.isArray(parsed) && parsed.session;
    out[role] = {
      value: shape(parsed),
      ttl: ttlShape(ttl),
      order: entry ? { session: Object.keys(parsed.session), user: Object.keys(parsed.user) } : undefined,
    };
  }
  return out;
}

for (const inDb of [false, true]) describe(`Redis secondary storage shared by better-auth and authkeep (store_session_in_database=${inDb})`, () => {
  let db, ba, ak, redis;
  const prefix = randomPrefix("ss");

  before(async () => {
    if (needsRedis.skip) return;
    db = await createPgDatabase();
    redis = redisClient();
    redis.on("error", () => {});
    ba = await startBetterAuth({ databaseUrl: db.url, env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, STORE_SESSION_IN_DATABASE: String(inDb) } });
    ak = await startAuthkeep({
      databaseUrl: db.url,
      env: {
        AUTHKEEP_SECONDARY_STORAGE__URL: REDIS_URL,
        AUTHKEEP_SECONDARY_STORAGE__KEY_PREFIX: prefix,
        AUTHKEEP_SESSION__STORE_SESSION_IN_DATABASE: String(inDb),
      },
    });
  });

  after(async () => {
    await Promise.all([ba, ak].filter(Boolean).map((s) => s.stop()));
    if (redis) {
      await clearPrefix(redis, prefix);
      redis.disconnect();
    }
    await db?.drop();
  });

  test("a session made on either server is used, listed and revoked on the other", needsRedis, async () => {
    const e = email("both");
    const onBa = new Browser(ba);
    assert.equal((await onBa.client.signUp.email({ email: e, password: PASSWORD, name: "Both" })).error, null);
    const baOnAk = carry(onBa, ak);
    assert.equal((await baOnAk.client.getSession()).data?.user.email, e, "authkeep reads better-auth's session");

    const onAk = new Browser(ak);
    const si = await onAk.client.signIn.email({ email: e, password: PASSWORD });
    assert.equal(si.error, null, JSON.stringify(si.error));
    const akOnBa = carry(onAk, ba);
    assert.equal((await akOnBa.client.getSession()).data?.session.token, si.data.token, "better-auth reads authkeep's session");

    // Both list both sessions.
    const listedOnBa = (await akOnBa.client.listSessions()).data.map((s) => s.token).sort();
    const listedOnAk = (await baOnAk.client.listSessions()).data.map((s) => s.token).sort();
    assert.deepEqual(listedOnBa, listedOnAk);
    assert.equal(listedOnAk.length, 2);

    // update-user on authkeep is seen in better-auth's session entry, and the other way.
    assert.equal((await onAk.client.updateUser({ name: "Renamed on authkeep" })).error, null);
    assert.equal((await onBa.client.getSession()).data.user.name, "Renamed on authkeep");
    assert.equal((await onBa.client.updateUser({ name: "Renamed on better-auth" })).error, null);
    assert.equal((await onAk.client.getSession()).data.user.name, "Renamed on better-auth");

    // authkeep revokes the session better-auth made.
    const baToken = (await onBa.client.getSession()).data.session.token;
    assert.equal((await onAk.client.revokeSession({ token: baToken })).error, null);
    assert.equal((await onBa.client.getSession()).data, null);

    // better-auth revokes everything: authkeep's session ends too.
    const again = new Browser(ba);
    await again.client.signIn.email({ email: e, password: PASSWORD });
    assert.equal((await again.client.revokeSessions()).error, null);
    assert.equal((await onAk.client.getSession()).data, null, "better-auth's revocation marker is honoured");

    // A session signed in after that lives on both; signing out on authkeep ends it on better-auth.
    await new Promise((r) => setTimeout(r, 5));
    const late = new Browser(ak);
    assert.equal((await late.client.signIn.email({ email: e, password: PASSWORD })).error, null);
    assert.equal((await carry(late, ba).client.getSession()).data?.user.email, e);
    await late.client.signOut();
    assert.equal((await carry(late, ba).client.getSession()).data, null);
  });

  test("each server writes the same keys, values and TTLs", needsRedis, async () => {
    const shapes = {};
    for (const [name, server] of [["better-auth", ba], ["authkeep", ak]]) {
      const b = new Browser(server);
      const up = await b.client.signUp.email({ email: email(name), password: PASSWORD, name: "Shape" });
      assert.equal(up.error, null, JSON.stringify(up.error));
      const uid = up.data.user.id;
      const second = new Browser(server);
      const si = await second.client.signIn.email({ email: up.data.user.email, password: PASSWORD });
      await b.client.updateUser({ name: "Shape 2" });
      const tokens = [up.data.token, si.data.token];
      const afterSignIn = userKeys(await dumpKeys(redis, prefix), uid, tokens);
      await b.client.revokeSessions();
      const afterRevoke = userKeys(await dumpKeys(redis, prefix), uid, tokens);
      shapes[name] = { afterSignIn, afterRevoke };
    }
    if (process.env.SHOW_SHAPES) console.log(JSON.stringify(shapes, null, 1));
    assert.deepEqual(shapes.authkeep.afterSignIn, shapes["better-auth"].afterSignIn);
    const marker = (s) => s.afterRevoke["revoked-sessions-before-<uid>"];
    assert.ok(marker(shapes["better-auth"]).ttl === "7d" || marker(shapes["better-auth"]).ttl > 604_790);
    assert.deepEqual(Object.keys(shapes.authkeep.afterRevoke), Object.keys(shapes["better-auth"].afterRevoke));
    assert.equal(marker(shapes.authkeep).value, "<ms>");
    assert.equal(marker(shapes["better-auth"]).value, "<ms>");
  });
});

describe("verification values in the shared Redis", () => {
  let db, ba, ak, redis, mailbox;
  const prefix = randomPrefix("ssv");

  before(async () => {
    if (needsRedis.skip) return;
    db = await createPgDatabase();
    redis = redisClient();
    redis.on("error", () => {});
    mailbox = await startMailbox();
    ba = await startBetterAuth({ databaseUrl: db.url, env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, SMTP_PORT: String(mailbox.port) } });
    ak = await startAuthkeep({
      databaseUrl: db.url,
      env: { ...authkeepEmailEnv(mailbox.port), AUTHKEEP_SECONDARY_STORAGE__URL: REDIS_URL, AUTHKEEP_SECONDARY_STORAGE__KEY_PREFIX: prefix },
    });
  });

  after(async () => {
    await Promise.all([ba, ak].filter(Boolean).map((s) => s.stop()));
    await mailbox?.close();
    if (redis) {
      await clearPrefix(redis, prefix);
      redis.disconnect();
    }
    await db?.drop();
  });

  /** The stored code entry for a sign-in OTP to `address`, normalised. */
  async function otpEntry(address) {
    const entry = (await dumpKeys(redis, prefix))[`verification:sign-in-otp-${address}`];
    assert.ok(entry, `no code for ${address}`);
    const value = JSON.parse(entry.value);
    return {
      order: Object.keys(value),
      value: { ...shape(value), value: value.value.replace(/^\d+:/, "<code>:"), identifier: value.identifier.replace(address, "<email>") },
      ttl: entry.ttl >= 290 && entry.ttl <= 300 ? "5m" : entry.ttl,
    };
  }

  test("a code sent by either server has the same key, value and TTL, and works on the other", needsRedis, async () => {
    const entries = {};
    for (const [name, from, to] of [["better-auth", ba, ak], ["authkeep", ak, ba]]) {
      const address = email(`otp-${name}`);
      const sender = new Browser(from);
      assert.equal((await sender.client.emailOtp.sendVerificationOtp({ email: address, type: "sign-in" })).error, null);
      const otp = await mailbox.code(address);
      entries[name] = await otpEntry(address);
      // A wrong guess on the other server is counted in the shared entry.
      const other = new Browser(to);
      const wrong = String((Number(otp) + 1) % 1_000_000).padStart(otp.length, "0");
      assert.equal((await other.client.signIn.emailOtp({ email: address, otp: wrong })).error?.code, "INVALID_OTP");
      assert.equal(entries[name].value.value, "<code>:0");
      assert.equal((await otpEntry(address)).value.value, "<code>:1");
      // The right code, on the other server, signs in and uses the code up.
      const r = await other.client.signIn.emailOtp({ email: address, otp });
      assert.equal(r.error, null, JSON.stringify(r.error));
      assert.equal((await dumpKeys(redis, prefix))[`verification:sign-in-otp-${address}`], undefined);
      assert.equal((await carry(other, from).client.getSession()).data?.user.email, address, "the session is shared too");
    }
    assert.deepEqual(entries.authkeep, entries["better-auth"]);
  });
});
