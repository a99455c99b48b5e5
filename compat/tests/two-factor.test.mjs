// better-auth's two-factor plugin through the real client's twoFactorClient: the same journey
// against authkeep and against a real better-auth 1.7.25 (answers compared), then both servers
// on one database and one secret: a factor enrolled on either verifies on the other.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { createAuthClient } from "better-auth/client";
import { twoFactorClient } from "better-auth/client/plugins";
import { createOTP } from "@better-auth/utils/otp";
import { base32 } from "@better-auth/utils/base32";
import { Browser } from "../harness/browser.mjs";
import { startMailbox } from "../harness/mailbox.mjs";
import { createPgDatabase, sqliteFile, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";
import { twoFactorEnv } from "../harness/two-factor.mjs";

const PASSWORD = "password1234";
const ISSUER = "Acme";

/** A browser whose client has twoFactorClient. */
function browser(server) {
  const b = new Browser(server);
  b.client = createAuthClient({
    baseURL: server.baseURL,
    plugins: [twoFactorClient()],
    fetchOptions: { customFetchImpl: (url, init) => b.fetch(url, init) },
  });
  return b;
}

/** The authenticator app: the secret from the otpauth URI, codes for now or `offset` steps away. */
function app(totpURI) {
  const secret = new URL(totpURI).searchParams.get("secret");
  const key = new TextDecoder().decode(base32.decode(secret));
  return {
    key,
    code: (offset = 0) => createOTP(key).hotp(Math.floor(Date.now() / 30000) + offset),
  };
}

const outcome = (r) => ({ status: r.error ? r.error.status : 200, code: r.error?.code ?? null });

/** One user's whole journey; returns what both servers must agree on. */
async function journey(server, email) {
  const seen = {};
  const b = browser(server);
  await b.client.signUp.email({ email, password: PASSWORD, name: "Two" });
  const enabled = await b.client.twoFactor.enable({ password: PASSWORD });
  assert.equal(enabled.error, null, JSON.stringify(enabled.error));
  seen.enableKeys = Object.keys(enabled.data).sort();
  const uri = new URL(enabled.data.totpURI);
  seen.uri = `${uri.protocol}${uri.pathname}?${[...uri.searchParams.keys()].join("&")}`;
  seen.issuer = uri.searchParams.get("issuer");
  seen.codeShape = enabled.data.backupCodes.map((c) => /^[A-Za-z0-9]{5}-[A-Za-z0-9]{5}$/.test(c));
  const auth = app(enabled.data.totpURI);
  seen.beforeVerify = (await b.client.getSession()).data.user.twoFactorEnabled;
  seen.wrongPassword = outcome(await b.client.twoFactor.enable({ password: "wrong-password" }));
  const first = await b.client.twoFactor.verifyTotp({ code: await auth.code(-1) });
  seen.firstCode = outcome(first);
  seen.afterVerify = (await b.client.getSession()).data.user.twoFactorEnabled;

  // Sign in again: held for the second factor.
  const c = browser(server);
  const held = await c.client.signIn.email({ email, password: PASSWORD });
  seen.held = held.data;
  // The held sign-in's cookies: names and attributes (values differ).
  seen.heldSetCookies = c.transcript.at(-1).setCookies
    .map((x) => x.replace(/^([^=]+)=[^;]*/, (_, n) => `${n}=${x.includes("Max-Age=0") ? "" : "…"}`))
    .sort();
  seen.heldCookies = [...c.jar.keys()].filter((k) => k.includes("session_token") || k.includes("two_factor")).sort();
  seen.noSession = (await c.client.getSession()).data;
  const wrong = (await auth.code()) === "000000" ? "111111" : "000000";
  seen.wrongCode = outcome(await c.client.twoFactor.verifyTotp({ code: wrong }));
  const ok = await c.client.twoFactor.verifyTotp({ code: await auth.code(), trustDevice: true });
  seen.rightCode = outcome(ok);
  seen.verifiedKeys = Object.keys(ok.data ?? {}).sort();
  seen.signedIn = (await c.client.getSession()).data?.user.email;
  seen.trustCookie = [...c.jar.keys()].some((k) => k.endsWith("trust_device"));

  // The trusted device signs in without a code.
  await c.client.signOut();
  const trusted = await c.client.signIn.email({ email, password: PASSWORD });
  seen.trustedSignIn = Boolean(trusted.data?.token);

  // A backup code, once.
  const d = browser(server);
  await d.client.signIn.email({ email, password: PASSWORD });
  seen.backup = outcome(await d.client.twoFactor.verifyBackupCode({ code: enabled.data.backupCodes[0] }));
  const e = browser(server);
  await e.client.signIn.email({ email, password: PASSWORD });
  seen.backupAgain = outcome(await e.client.twoFactor.verifyBackupCode({ code: enabled.data.backupCodes[0] }));

  const regenerated = await b.client.twoFactor.generateBackupCodes({ password: PASSWORD });
  seen.regenerated = [outcome(regenerated), regenerated.data?.backupCodes?.length];
  seen.disable = outcome(await b.client.twoFactor.disable({ password: PASSWORD }));
  seen.afterDisable = (await b.client.getSession()).data.user.twoFactorEnabled;
  const f = browser(server);
  seen.plainSignIn = Boolean((await f.client.signIn.email({ email, password: PASSWORD })).data?.token);
  return seen;
}

describe("two-factor: authkeep and better-auth side by side", () => {
  let db1, db2, ak, ba;
  before(async () => {
    [db1, db2] = await Promise.all([createPgDatabase(), createPgDatabase()]);
    [ak, ba] = await Promise.all([
      startAuthkeep({ databaseUrl: db1.url, env: twoFactorEnv({ issuer: ISSUER }) }),
      startBetterAuth({ databaseUrl: db2.url, env: { TWO_FACTOR: "1", TWO_FACTOR_ISSUER: ISSUER } }),
    ]);
  });
  after(async () => {
    await Promise.all([ak, ba].filter(Boolean).map((s) => s.stop()));
    await Promise.all([db1, db2].filter(Boolean).map((d) => d.drop()));
  });

  /** The plugin's columns as each server's migrator created them. */
  async function columns(url) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query(
      `select table_name, column_name, udt_name, is_nullable, column_default from information_schema.columns
       where table_name = 'twoFactor' or (table_name = 'user' and column_name = 'twoFactorEnabled')
       order by table_name, ordinal_position`);
    const { rows: idx } = await c.query(
      `select indexname from pg_indexes where tablename = 'twoFactor' order by indexname`);
    await c.end();
    return { rows, idx: idx.map((r) => r.indexname) };
  }

  test("both servers create the same schema for the plugin", async () => {
    assert.deepEqual(await columns(db1.url), await columns(db2.url));
  });

  test("the same journey gets the same answers", async () => {
    const [onAk, onBa] = [await journey(ak, "two@example.com"), await journey(ba, "two@example.com")];
    assert.deepEqual(onAk, onBa);
    assert.deepEqual(onAk.held, { twoFactorRedirect: true, twoFactorMethods: ["totp"] });
    assert.equal(onAk.issuer, ISSUER);
    assert.ok(onAk.heldSetCookies.some((c) => c.startsWith("better-auth.two_factor=…; Max-Age=600")), onAk.heldSetCookies);
    assert.ok(onAk.heldSetCookies.some((c) => c.startsWith("better-auth.session_token=; Max-Age=0")), onAk.heldSetCookies);
    assert.deepEqual(onAk.wrongCode, { status: 401, code: "INVALID_CODE" });
    assert.equal(onAk.trustedSignIn, true);
    assert.deepEqual(onAk.backupAgain, { status: 401, code: "INVALID_BACKUP_CODE" });
  });
});

/** Both servers on one database and one secret: `open` starts them (better-auth first). */
function sharedSuite(name, open) {
describe(`two-factor: one ${name}, one secret, two servers`, () => {
  let ba, ak, close;
  before(async () => {
    ({ ba, ak, close } = await open());
  });
  after(async () => close?.());
  async function enrol(server, email) {
    const b = browser(server);
    await b.client.signUp.email({ email, password: PASSWORD, name: "Shared" });
    const enabled = await b.client.twoFactor.enable({ password: PASSWORD });
    assert.equal(enabled.error, null, JSON.stringify(enabled.error));
    const auth = app(enabled.data.totpURI);
    const first = await b.client.twoFactor.verifyTotp({ code: await auth.code(-1) });
    assert.equal(first.error, null, JSON.stringify(first.error));
    return { auth, backupCodes: enabled.data.backupCodes };
  }

  async function signInWithCode(server, email, code) {
    const b = browser(server);
    const held = await b.client.signIn.email({ email, password: PASSWORD });
    assert.equal(held.data?.twoFactorRedirect, true, JSON.stringify(held));
    const r = await b.client.twoFactor.verifyTotp({ code });
    assert.equal(r.error, null, JSON.stringify(r.error));
    return b;
  }

  test("enrolled on better-auth, verified on authkeep", async () => {
    const { auth, backupCodes } = await enrol(ba, "from-ba@example.com");
    const b = await signInWithCode(ak, "from-ba@example.com", await auth.code());
    assert.equal((await b.client.getSession()).data.user.twoFactorEnabled, true);
    // better-auth's encrypted backup codes work on authkeep, and the use is seen by better-auth.
    const c = browser(ak);
    await c.client.signIn.email({ email: "from-ba@example.com", password: PASSWORD });
    assert.equal((await c.client.twoFactor.verifyBackupCode({ code: backupCodes[0] })).error, null);
    const d = browser(ba);
    await d.client.signIn.email({ email: "from-ba@example.com", password: PASSWORD });
    assert.equal((await d.client.twoFactor.verifyBackupCode({ code: backupCodes[0] })).error?.code, "INVALID_BACKUP_CODE");
    assert.equal((await d.client.twoFactor.verifyBackupCode({ code: backupCodes[1] })).error, null);
  });

  test("enrolled on authkeep, verified on better-auth; a held sign-in moves between them", async () => {
    const { auth } = await enrol(ak, "from-ak@example.com");
    const b = await signInWithCode(ba, "from-ak@example.com", await auth.code());
    assert.equal((await b.client.getSession()).data.user.email, "from-ak@example.com");
    // Held by authkeep, finished on better-auth with the same cookies.
    const held = browser(ak);
    await held.client.signIn.email({ email: "from-ak@example.com", password: PASSWORD });
    const moved = browser(ba);
    moved.jar = new Map(held.jar);
    const r = await moved.client.twoFactor.verifyTotp({ code: await auth.code(1), trustDevice: true });
    assert.equal(r.error, null, JSON.stringify(r.error));
    // better-auth's trust cookie is honoured by authkeep.
    const back = browser(ak);
    back.jar = new Map([...moved.jar].filter(([k]) => k.endsWith("trust_device")));
    const trusted = await back.client.signIn.email({ email: "from-ak@example.com", password: PASSWORD });
    assert.ok(trusted.data?.token, JSON.stringify(trusted));
  });

  test("failures on one server lock the account on the other, both ways", async () => {
    for (const [failOn, checkOn, email] of [[ak, ba, "locked-ak@example.com"], [ba, ak, "locked-ba@example.com"]]) {
      const { auth } = await enrol(failOn, email);
      for (let round = 0; round < 2; round++) {
        const b = browser(failOn);
        await b.client.signIn.email({ email, password: PASSWORD });
        for (let i = 0; i < 5; i++) {
          const r = await b.client.twoFactor.verifyTotp({ code: "000000" });
          assert.equal(r.error?.code, "INVALID_CODE", JSON.stringify(r.error));
        }
      }
      const other = browser(checkOn);
      await other.client.signIn.email({ email, password: PASSWORD });
      const r = await other.client.twoFactor.verifyTotp({ code: await auth.code() });
      assert.deepEqual(outcome(r), { status: 429, code: "ACCOUNT_TEMPORARILY_LOCKED" }, email);
    }
  });
});
}

sharedSuite("PostgreSQL database", async () => {
  const db = await createPgDatabase();
  const ba = await startBetterAuth({ databaseUrl: db.url, env: { TWO_FACTOR: "1" } }); // creates the schema
  const ak = await startAuthkeep({ databaseUrl: db.url, env: twoFactorEnv() });
  return { ba, ak, close: async () => { await Promise.all([ba, ak].map((s) => s.stop())); await db.drop(); } };
});

sharedSuite("SQLite file", async () => {
  const file = sqliteFile();
  const ba = await startBetterAuth({ env: { TWO_FACTOR: "1", SQLITE_PATH: file.url.replace(/^sqlite:\/\//, "") } });
  const ak = await startAuthkeep({ databaseUrl: file.url, env: twoFactorEnv() });
  return { ba, ak, close: async () => { await Promise.all([ba, ak].map((s) => s.stop())); await file.drop(); } };
});

describe("two-factor: codes by email, authkeep and better-auth side by side", () => {
  let mailbox, db1, db2, ak, ba;
  before(async () => {
    mailbox = await startMailbox();
    [db1, db2] = await Promise.all([createPgDatabase(), createPgDatabase()]);
    [ak, ba] = await Promise.all([
      startAuthkeep({ databaseUrl: db1.url, env: twoFactorEnv({ otpSmtpPort: mailbox.port }) }),
      startBetterAuth({ databaseUrl: db2.url, env: { TWO_FACTOR: "1", TWO_FACTOR_OTP_SMTP_PORT: String(mailbox.port) } }),
    ]);
  });
  after(async () => {
    await Promise.all([ak, ba].filter(Boolean).map((s) => s.stop()));
    await Promise.all([db1, db2].filter(Boolean).map((d) => d.drop()));
    await mailbox?.close();
  });

  async function otpJourney(server, email) {
    const seen = {};
    const b = browser(server);
    await b.client.signUp.email({ email, password: PASSWORD, name: "Otp" });
    const enabled = await b.client.twoFactor.enable({ password: PASSWORD, method: "otp" });
    seen.enabled = [outcome(enabled), enabled.data];
    seen.flag = (await b.client.getSession()).data.user.twoFactorEnabled;
    const c = browser(server);
    seen.held = (await c.client.signIn.email({ email, password: PASSWORD })).data;
    seen.verifyBeforeSend = outcome(await c.client.twoFactor.verifyOtp({ code: "123456" }));
    const sent = await c.client.twoFactor.sendOtp();
    seen.sent = [outcome(sent), sent.data];
    const code = await mailbox.code(email);
    const wrong = code === "000000" ? "111111" : "000000";
    seen.wrong = outcome(await c.client.twoFactor.verifyOtp({ code: wrong }));
    const ok = await c.client.twoFactor.verifyOtp({ code });
    seen.right = [outcome(ok), Object.keys(ok.data ?? {}).sort()];
    seen.signedIn = (await c.client.getSession()).data?.user.email;
    seen.again = outcome(await c.client.twoFactor.verifyOtp({ code }));
    return seen;
  }

  test("send-otp and verify-otp answer alike", async () => {
    const [onAk, onBa] = [await otpJourney(ak, "otp@example.com"), await otpJourney(ba, "otp@example.com")];
    assert.deepEqual(onAk, onBa);
    assert.deepEqual(onAk.held, { twoFactorRedirect: true, twoFactorMethods: ["otp"] });
    assert.deepEqual(onAk.wrong, { status: 401, code: "INVALID_CODE" });
    assert.equal(onAk.signedIn, "otp@example.com");
  });
});
