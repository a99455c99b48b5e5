// The seed's own names (tables users, user_sessions, accounts, verifications; snake_case
// columns; accounts.password_hash; an additional user field `status`), configured in authkeep's
// TOML file and in better-auth's options, on PostgreSQL and on SQLite:
//   1. whichever server creates the schema, the other finds it complete and identical to its own;
//   2. one database served by both: users, passwords, cookies and sign-outs cross over;
//   3. the same client scenario gets the same answers from both, each on its own database.
// Every test makes its own databases and removes them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Browser, normalize, normalizeTranscript } from "../harness/browser.mjs";
import { dump, orderDifferences, query } from "../harness/catalog.mjs";
import { authkeepMigrate, betterAuthMigrate, betterAuthPlan, seedConfigFile } from "../harness/seed-schema.mjs";
import { createPgDatabase, sqliteFile, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";

const PASSWORD = "password1234";
const TIMEOUT = { timeout: 90_000 };

const backends = [
  { name: "PostgreSQL", fresh: () => createPgDatabase(), baTarget: (db) => ({ databaseUrl: db.url }) },
  { name: "SQLite", fresh: () => sqliteFile(), baTarget: (db) => ({ env: { SQLITE_PATH: db.url.slice("sqlite://".length) } }) },
];

/** Releases everything a test opened, last first, even when the test failed half-way. */
function resources(t) {
  const undo = [];
  t.after(async () => {
    for (const f of undo.reverse()) await f();
  });
  return {
    async db(backend) {
      const db = await backend.fresh();
      undo.push(() => db.drop());
      return db;
    },
    config(variant = "seed") {
      const c = seedConfigFile(variant);
      undo.push(() => c.drop());
      return c;
    },
    async authkeep(db, config) {
      const s = await startAuthkeep({ databaseUrl: db.url, config: config.path });
      undo.push(() => s.stop());
      return s;
    },
    async betterAuth(backend, db, { variant = "seed", skipMigrations = false } = {}) {
      const target = backend.baTarget(db);
      const env = { ...target.env, SCHEMA: variant, ...(skipMigrations ? { SKIP_MIGRATIONS: "1" } : {}) };
      const s = await startBetterAuth({ ...target, env });
      undo.push(() => s.stop());
      return s;
    },
  };
}

/** The same browser's cookies, presented to another server. */
function carry(from, to) {
  const b = new Browser(to);
  b.jar = new Map(from.jar);
  return b;
}

/** Asserts two catalog dumps describe the same tables, as sets (column order is reported, not asserted). */
function assertSameCatalog(t, got, want, what) {
  for (const k of ["tables", "columns", "indexes", "constraints"]) {
    const missing = want[k].filter((x) => !got[k].includes(x));
    const extra = got[k].filter((x) => !want[k].includes(x));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${what}: ${k} differ`);
  }
  // better-auth's migrator never looks at column order (it matches columns by name), so order
  // is reported rather than asserted. Observed with this binary: no order differences on either
  // database, and on SQLite the CREATE statements stored in sqlite_master are byte-identical.
  for (const d of orderDifferences(got, want)) t.diagnostic(`${what}: column order of ${d.table}: ${d.a.join(",")} vs better-auth ${d.b.join(",")}`);
}

for (const backend of backends) {
  describe(`the seed's names on ${backend.name}`, () => {
    test("authkeep creates the schema: better-auth's migrator has nothing to do, and the catalog is better-auth's own", TIMEOUT, async (t) => {
      const r = resources(t);
      const config = r.config();
      const [byAuthkeep, byBetterAuth] = [await r.db(backend), await r.db(backend)];

      const run = await authkeepMigrate({ config: config.path, databaseUrl: byAuthkeep.url });
      assert.equal(run.code, 0, run.stdout + run.stderr);

      const plan = await betterAuthPlan(byAuthkeep.url);
      assert.deepEqual(plan.toBeCreated.map((c) => c.table), [], "tables better-auth would create");
      assert.deepEqual(plan.toBeAdded.map((c) => ({ table: c.table, fields: Object.keys(c.fields) })), [], "columns better-auth would add");
      assert.deepEqual(plan.toBeAddedIndexes, []);
      assert.deepEqual(plan.schemaProblems, []);
      assert.equal(plan.sql, ";", "compileMigrations(): no statements");

      await betterAuthMigrate(byBetterAuth.url);
      assertSameCatalog(t, await dump(byAuthkeep.url), await dump(byBetterAuth.url), "authkeep's schema vs better-auth's");
    });

    test("better-auth creates the schema: authkeep reports it up to date and serves it unchanged", TIMEOUT, async (t) => {
      const r = resources(t);
      const config = r.config();
      const db = await r.db(backend);
      await betterAuthMigrate(db.url);
      const before = await dump(db.url);

      const status = await authkeepMigrate({ config: config.path, databaseUrl: db.url, status: true });
      assert.equal(status.code, 0, status.stdout + status.stderr);
      assert.match(status.stdout, /up to date/, status.stdout + status.stderr);

      // serve migrates on start by default; on a complete schema that must change nothing, even
      // after the requests that first touch each table (sign-up, session, the jwks key).
      const ak = await r.authkeep(db, config);
      const b = new Browser(ak);
      assert.equal((await b.client.signUp.email({ email: "adopt@example.com", password: PASSWORD, name: "Adopt" })).error, null);
      assert.equal((await b.client.getSession()).data?.user.status, "active");
      assert.ok((await b.client.token()).data?.token);
      assertSameCatalog(t, await dump(db.url), before, "after authkeep serve");
      assert.deepEqual((await dump(db.url)).columnOrder, before.columnOrder);
    });

    test("a partly created schema (a populated users table without status, no verifications or jwks) is completed as better-auth completes it", TIMEOUT, async (t) => {
      const r = resources(t);
      const config = r.config();
      const [forAuthkeep, forBetterAuth] = [await r.db(backend), await r.db(backend)];
      for (const db of [forAuthkeep, forBetterAuth]) {
        await betterAuthMigrate(db.url);
        await query(
          db.url,
          `insert into users (id, name, email, email_verified, created_at, updated_at) values ('u1', 'Old', 'old@example.com', false, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`,
          `alter table users drop column status`,
          `drop table verifications`,
          `drop table jwks`,
        );
      }
      const status = await authkeepMigrate({ config: config.path, databaseUrl: forAuthkeep.url, status: true });
      assert.equal(status.code, 0, status.stdout + status.stderr);
      assert.doesNotMatch(status.stdout, /up to date/);
      assert.match(status.stdout, /users\.status/);
      assert.match(status.stdout, /"verifications"/);
      assert.match(status.stdout, /"jwks"/);

      const run = await authkeepMigrate({ config: config.path, databaseUrl: forAuthkeep.url });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      await betterAuthMigrate(forBetterAuth.url);
      // better-auth adds a constant default to an added column (never in CREATE TABLE), so the
      // existing row reads "active"; the catalogs (defaults included) must agree.
      assertSameCatalog(t, await dump(forAuthkeep.url), await dump(forBetterAuth.url), "completed by authkeep vs by better-auth");
      for (const db of [forAuthkeep, forBetterAuth]) {
        assert.deepEqual(await query(db.url, `select status from users where id = 'u1'`), [{ status: "active" }]);
      }
      const plan = await betterAuthPlan(forAuthkeep.url);
      assert.equal(plan.sql, ";", "better-auth finds nothing left to do after authkeep");
    });

    for (const creator of ["authkeep", "better-auth"]) {
      test(`one database for both servers (${creator} creates the schema): users, cookies, status, passwords and sign-out cross over`, TIMEOUT, async (t) => {
        const r = resources(t);
        const config = r.config();
        const db = await r.db(backend);
        // Whoever starts first migrates the empty database; the other adopts it.
        let ak, ba;
        if (creator === "authkeep") {
          ak = await r.authkeep(db, config);
          ba = await r.betterAuth(backend, db);
        } else {
          ba = await r.betterAuth(backend, db);
          ak = await r.authkeep(db, config);
        }

        // Sign up on one, sign in on the other, both ways.
        const akUser = new Browser(ak);
        const up1 = await akUser.client.signUp.email({ email: "made-on-ak@example.com", password: PASSWORD, name: "Made On AK" });
        assert.equal(up1.error, null, JSON.stringify(up1.error));
        const in1 = await new Browser(ba).client.signIn.email({ email: "made-on-ak@example.com", password: PASSWORD });
        assert.equal(in1.error, null, `better-auth signs in authkeep's user: ${JSON.stringify(in1.error)}`);
        assert.equal(in1.data.user.status, "active");

        const baUser = new Browser(ba);
        const up2 = await baUser.client.signUp.email({ email: "made-on-ba@example.com", password: PASSWORD, name: "Made On BA" });
        assert.equal(up2.error, null, JSON.stringify(up2.error));
        const in2 = await new Browser(ak).client.signIn.email({ email: "made-on-ba@example.com", password: PASSWORD });
        assert.equal(in2.error, null, `authkeep signs in better-auth's user: ${JSON.stringify(in2.error)}`);
        assert.equal(in2.data.user.status, "active");

        // Each server's cookie is accepted by the other, and both report status "active" for
        // both users (each written by a different server).
        for (const [browser, email] of [[akUser, "made-on-ak@example.com"], [baUser, "made-on-ba@example.com"]]) {
          for (const server of [ak, ba]) {
            const s = await carry(browser, server).client.getSession();
            assert.equal(s.data?.user.email, email, `${server.label} get-session with ${email}'s cookie`);
            assert.equal(s.data.user.status, "active", `${server.label}: status of ${email}`);
            assert.equal(s.data.user.emailVerified, false);
            assert.ok(s.data.session.expiresAt > new Date(), `${server.label}: session of ${email} is live`);
          }
        }

        // A password changed on one server works on the other (and the old one no longer does).
        assert.equal((await akUser.client.changePassword({ currentPassword: PASSWORD, newPassword: "changed-on-ak" })).error, null);
        assert.equal((await new Browser(ba).client.signIn.email({ email: "made-on-ak@example.com", password: "changed-on-ak" })).error, null);
        assert.equal((await new Browser(ba).client.signIn.email({ email: "made-on-ak@example.com", password: PASSWORD })).error?.status, 401);
        assert.equal((await baUser.client.changePassword({ currentPassword: PASSWORD, newPassword: "changed-on-ba" })).error, null);
        assert.equal((await new Browser(ak).client.signIn.email({ email: "made-on-ba@example.com", password: "changed-on-ba" })).error, null);
        assert.equal((await new Browser(ak).client.signIn.email({ email: "made-on-ba@example.com", password: PASSWORD })).error?.status, 401);

        // Signing out on one server ends the session on both: authkeep's session signed out
        // through better-auth, and better-auth's through authkeep.
        assert.equal((await carry(akUser, ba).client.signOut()).error, null);
        assert.equal((await carry(akUser, ak).client.getSession()).data, null, "authkeep after sign-out on better-auth");
        assert.equal((await carry(akUser, ba).client.getSession()).data, null, "better-auth after its own sign-out");
        assert.equal((await carry(baUser, ak).client.signOut()).error, null);
        assert.equal((await carry(baUser, ba).client.getSession()).data, null, "better-auth after sign-out on authkeep");
        assert.equal((await carry(baUser, ak).client.getSession()).data, null, "authkeep after its own sign-out");
      });
    }

    /** Runs `scenario` against authkeep and better-auth, each on a fresh mapped database, and compares. */
    async function differential(t, scenario) {
      const r = resources(t);
      const config = r.config();
      const [akDb, baDb] = [await r.db(backend), await r.db(backend)];
      const [ak, ba] = await Promise.all([r.authkeep(akDb, config), r.betterAuth(backend, baDb)]);
      const expected = await scenario(ba);
      const got = await scenario(ak);
      const [e, g] = [normalizeTranscript(expected.transcript), normalizeTranscript(got.transcript)];
      assert.deepEqual(g.map((x) => x.request), e.map((x) => x.request), "the same requests");
      g.forEach((entry, i) => assert.deepEqual(entry, e[i], `exchange ${i} (${entry.request})`));
      assert.deepEqual(got.claims, expected.claims, "JWT claims");
    }

    /** JWT claims without what differs by construction (times, the issuing origin). */
    function claimsOf(jwt) {
      const { iat, exp, iss, aud, ...rest } = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url"));
      return { ...normalize(rest), lifetime: exp - iat, issIsOrigin: typeof iss === "string", audIsOrigin: typeof aud === "string" };
    }

    test("the same client scenario gets the same answers from both (sign-up, get-session, update-user, sign-out, sign-in)", TIMEOUT, async (t) => {
      await differential(t, async (server) => {
        const b = new Browser(server);
        const up = await b.client.signUp.email({ email: "dana@example.com", password: PASSWORD, name: "Dana" });
        assert.equal(up.error, null, `${server.label}: ${JSON.stringify(up.error)}`);
        assert.equal((await b.client.getSession()).data.user.status, "active");
        assert.deepEqual((await b.client.updateUser({ name: "Dana Two" })).data, { status: true });
        assert.equal((await b.client.getSession()).data.user.name, "Dana Two");
        const claims = claimsOf((await b.client.token()).data.token);
        await b.client.signOut();
        assert.equal((await b.client.getSession()).data, null);
        assert.equal((await b.client.signIn.email({ email: "dana@example.com", password: PASSWORD })).error, null);
        assert.equal((await b.client.getSession()).data.user.status, "active");
        return { transcript: b.transcript, claims };
      });
    });

    test("the additional field's rules answer the same on both (input: false, default on sign-up)", TIMEOUT, async (t) => {
      await differential(t, async (server) => {
        const b = new Browser(server);
        // input: false with a default: a value sent on sign-up is replaced by the default.
        const up = await b.client.signUp.email({ email: "erin@example.com", password: PASSWORD, name: "Erin", status: "admin" });
        assert.equal(up.error, null, `${server.label}: ${JSON.stringify(up.error)}`);
        assert.equal(up.data.user.status, "active");
        // ... and update-user refuses it.
        await b.raw("/update-user", { method: "POST", body: { status: "admin" } });
        await b.raw("/update-user", { method: "POST", body: { status: "" } });
        await b.raw("/update-user", { method: "POST", body: { name: "Erin Two", status: "admin" } });
        assert.equal((await b.client.getSession()).data.user.status, "active");
        return { transcript: b.transcript, claims: null };
      });
    });
  });
}

// docs/configuration.md's own example: `casing = "snake_case"` plus the names casing cannot
// produce. better-auth's counterpart is Kysely's CamelCasePlugin (better-auth 1.7.25 has no
// casing option of its own: `database.casing` is typed but never read).
for (const backend of backends) {
  describe(`casing = "snake_case" on ${backend.name} is better-auth with Kysely's CamelCasePlugin`, () => {
    test("authkeep creates what better-auth creates", TIMEOUT, async (t) => {
      const r = resources(t);
      const config = r.config("seed-casing");
      const [byAuthkeep, byBetterAuth] = [await r.db(backend), await r.db(backend)];
      const run = await authkeepMigrate({ config: config.path, databaseUrl: byAuthkeep.url });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      await betterAuthMigrate(byBetterAuth.url, "seed-casing");
      const theirs = await dump(byBetterAuth.url);
      assertSameCatalog(t, await dump(byAuthkeep.url), theirs, "authkeep (snake_case) vs better-auth (CamelCasePlugin)");
      // Not asserted: better-auth's migrator with CamelCasePlugin plans to add every snake_case
      // column again even on a schema it created itself, so its plan cannot judge authkeep's.
      const status = await authkeepMigrate({ config: config.path, databaseUrl: byBetterAuth.url, status: true });
      assert.equal(status.code, 0, status.stdout + status.stderr);
      assert.match(status.stdout, /up to date/, status.stdout + status.stderr);
    });

    test("one database for both: users, cookies, status and the JWT key cross over", TIMEOUT, async (t) => {
      const r = resources(t);
      const config = r.config("seed-casing");
      const db = await r.db(backend);
      const ak = await r.authkeep(db, config); // creates the schema
      const ba = await r.betterAuth(backend, db, { variant: "seed-casing", skipMigrations: true });

      const akUser = new Browser(ak);
      assert.equal((await akUser.client.signUp.email({ email: "snake-ak@example.com", password: PASSWORD, name: "Snake AK" })).error, null);
      const onBa = await carry(akUser, ba).client.getSession();
      assert.equal(onBa.data?.user.email, "snake-ak@example.com");
      assert.equal(onBa.data.user.status, "active");
      const baUser = new Browser(ba);
      assert.equal((await baUser.client.signUp.email({ email: "snake-ba@example.com", password: PASSWORD, name: "Snake BA" })).error, null);
      const inAk = await new Browser(ak).client.signIn.email({ email: "snake-ba@example.com", password: PASSWORD });
      assert.equal(inAk.error, null, JSON.stringify(inAk.error));
      assert.equal(inAk.data.user.status, "active");
      // The jwks table's snake_case columns: both sign with the one stored key.
      const kid = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url")).kid;
      const fromBa = (await baUser.client.token()).data.token;
      const fromAk = (await carry(baUser, ak).client.token()).data.token;
      assert.equal(kid(fromAk), kid(fromBa));
      assert.equal((await carry(baUser, ak).client.signOut()).error, null);
      assert.equal((await carry(baUser, ba).client.getSession()).data, null);
    });
  });
}
