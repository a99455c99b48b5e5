// better-auth's admin plugin, driven by the real client's adminClient, against authkeep
// (PostgreSQL and SQLite) and a real better-auth 1.7.25 with admin(): the normalised exchanges
// must be identical. Admins are made as an operator would: by setting `user.role` in SQL.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createAuthClient } from "better-auth/client";
import { adminClient } from "better-auth/client/plugins";
import { Browser, normalizeTranscript } from "../harness/browser.mjs";
import { query } from "../harness/catalog.mjs";
import { createPgDatabase, sqliteFile, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";

const PASSWORD = "password1234";

/** normalizeTranscript, and user ids in query strings (`get-user?id=`). */
const masked = (t) => normalizeTranscript(t).map((e) => ({ ...e, request: e.request.replace(/id=[A-Za-z0-9]{32}/g, "id=<id>") }));

/** A browser whose client has adminClient. */
class AdminBrowser extends Browser {
  constructor(server) {
    super(server);
    this.client = createAuthClient({
      baseURL: server.baseURL,
      plugins: [adminClient()],
      fetchOptions: { customFetchImpl: (url, init) => this.fetch(url, init) },
    });
  }
}

async function makeAdmin(server, email) {
  await query(server.db.url, `update "user" set "role" = 'admin' where "email" = '${email}'`);
}

const scenarios = [
  {
    name: "the guard: anonymous 401, users 403, roles not self-settable",
    async run(server) {
      const anon = new AdminBrowser(server);
      const r1 = await anon.client.admin.listUsers({ query: {} });
      assert.equal(r1.error.status, 401);
      const user = new AdminBrowser(server);
      const up = await user.client.signUp.email({ email: "mallory@example.com", password: PASSWORD, name: "Mallory" });
      assert.equal(up.data.user.role, "user");
      const me = await user.client.getSession();
      assert.equal(me.data.session.impersonatedBy, null, "the plugin's session field, null");
      const r2 = await user.client.admin.listUsers({ query: {} });
      assert.equal(r2.error.code, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS");
      const r3 = await user.client.admin.setRole({ userId: up.data.user.id, role: "admin" });
      assert.equal(r3.error.status, 403);
      const r4 = await user.client.updateUser({ role: "admin" });
      assert.equal(r4.error.status, 400);
      const r5 = await user.client.admin.impersonateUser({ userId: up.data.user.id });
      assert.equal(r5.error.code, "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS");
      const r6 = await user.client.admin.hasPermission({ permissions: { user: ["list"] } });
      assert.equal(r6.data.success, false);
      return [...anon.transcript, ...user.transcript];
    },
  },
  {
    name: "users: create, list, get, set role, update, password, remove",
    async run(server) {
      const admin = new AdminBrowser(server);
      await admin.client.signUp.email({ email: "root@example.com", password: PASSWORD, name: "Root" });
      await makeAdmin(server, "root@example.com");
      const created = await admin.client.admin.createUser({ email: "Carol@Example.com", password: PASSWORD, name: "Carol", role: "user" });
      assert.equal(created.error, null);
      const carol = created.data.user;
      const dup = await admin.client.admin.createUser({ email: "carol@example.com", password: PASSWORD, name: "Carol" });
      assert.equal(dup.error.code, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
      await admin.client.admin.createUser({ email: "dave@example.com", name: "Dave" });
      const all = await admin.client.admin.listUsers({ query: { sortBy: "email", sortDirection: "asc" } });
      assert.equal(all.data.total, 3);
      await admin.client.admin.listUsers({ query: { searchValue: "car", searchField: "email", searchOperator: "contains", limit: 10, offset: 0 } });
      await admin.client.admin.listUsers({ query: { sortBy: "email", sortDirection: "desc", limit: 2, offset: 1 } });
      await admin.client.admin.listUsers({ query: { filterField: "role", filterValue: "admin", filterOperator: "eq" } });
      await admin.client.admin.listUsers({ query: { filterField: "banned", filterValue: false } });
      await admin.client.admin.listUsers({ query: { filterField: "name", filterValue: "Dav", filterOperator: "starts_with" } });
      await admin.client.admin.listUsers({ query: { sortBy: "nope" } });
      const got = await admin.client.admin.getUser({ query: { id: carol.id } });
      assert.equal(got.data.email, "carol@example.com");
      await admin.client.admin.getUser({ query: { id: "nobody" } });
      const role = await admin.client.admin.setRole({ userId: carol.id, role: ["user", "admin"] });
      assert.equal(role.data.user.role, "user,admin");
      const upd = await admin.client.admin.updateUser({ userId: carol.id, data: { name: "Caroline" } });
      assert.equal(upd.data.name, "Caroline");
      await admin.client.admin.updateUser({ userId: carol.id, data: {} });
      await admin.client.admin.updateUser({ userId: carol.id, data: { password: "x" } });
      const pw = await admin.client.admin.setUserPassword({ userId: carol.id, newPassword: "carol-new-password" });
      assert.equal(pw.data.status, true);
      const c = new AdminBrowser(server);
      assert.equal((await c.client.signIn.email({ email: "carol@example.com", password: "carol-new-password" })).error, null);
      const sessions = await admin.client.admin.listUserSessions({ userId: carol.id });
      assert.equal(sessions.data.sessions.length, 1);
      await admin.client.admin.revokeUserSession({ sessionToken: sessions.data.sessions[0].token });
      assert.equal((await c.client.getSession()).data, null);
      await admin.client.admin.revokeUserSessions({ userId: carol.id });
      const removed = await admin.client.admin.removeUser({ userId: carol.id });
      assert.equal(removed.data.success, true);
      const perm = await admin.client.admin.hasPermission({ permissions: { user: ["ban"], session: ["revoke"] } });
      assert.equal(perm.data.success, true);
      return [...admin.transcript, ...c.transcript];
    },
  },
  {
    name: "bans: sessions end, sign-in refused, unban",
    async run(server) {
      const admin = new AdminBrowser(server);
      const me = await admin.client.signUp.email({ email: "root@example.com", password: PASSWORD, name: "Root" });
      await makeAdmin(server, "root@example.com");
      const user = new AdminBrowser(server);
      const up = await user.client.signUp.email({ email: "bob@example.com", password: PASSWORD, name: "Bob" });
      await admin.client.admin.banUser({ userId: me.data.user.id });
      const ban = await admin.client.admin.banUser({ userId: up.data.user.id, banReason: "spam" });
      assert.equal(ban.data.user.banned, true);
      assert.equal((await user.client.getSession()).data, null);
      const refused = await user.client.signIn.email({ email: "bob@example.com", password: PASSWORD });
      assert.equal(refused.error.code, "BANNED_USER");
      await admin.client.admin.unbanUser({ userId: up.data.user.id });
      assert.equal((await user.client.signIn.email({ email: "bob@example.com", password: PASSWORD })).error, null);
      await admin.client.admin.banUser({ userId: up.data.user.id, banExpiresIn: 3600 });
      return [...admin.transcript, ...user.transcript];
    },
  },
  {
    name: "impersonation and back",
    async run(server) {
      const admin = new AdminBrowser(server);
      await admin.client.signUp.email({ email: "root@example.com", password: PASSWORD, name: "Root" });
      await makeAdmin(server, "root@example.com");
      const other = new AdminBrowser(server);
      await other.client.signUp.email({ email: "admin2@example.com", password: PASSWORD, name: "Admin2" });
      await makeAdmin(server, "admin2@example.com");
      const user = new AdminBrowser(server);
      const up = await user.client.signUp.email({ email: "ursula@example.com", password: PASSWORD, name: "Ursula" });
      const who = (await other.client.getSession()).data.user.id;
      const denied = await admin.client.admin.impersonateUser({ userId: who });
      assert.equal(denied.error.code, "YOU_CANNOT_IMPERSONATE_ADMINS");
      const imp = await admin.client.admin.impersonateUser({ userId: up.data.user.id });
      assert.equal(imp.error, null);
      assert.equal((await admin.client.getSession()).data.user.email, "ursula@example.com");
      await user.client.listSessions();
      const back = await admin.client.admin.stopImpersonating();
      assert.equal(back.data.user.email, "root@example.com");
      assert.equal((await admin.client.getSession()).data.user.email, "root@example.com");
      const again = await admin.client.admin.stopImpersonating();
      assert.equal(again.error.status, 400);
      return [...admin.transcript, ...user.transcript];
    },
  },
];

describe("the admin plugin: authkeep answers adminClient as better-auth does", () => {
  const dbs = [];
  let reference, akPostgres, akSqlite;

  before(async () => {
    const [refDb, akPgDb, akLiteDb] = [await createPgDatabase(), await createPgDatabase(), sqliteFile()];
    dbs.push(refDb, akPgDb, akLiteDb);
    const ak = { AUTHKEEP_ADMIN__ENABLED: "true" };
    [reference, akPostgres, akSqlite] = await Promise.all([
      startBetterAuth({ databaseUrl: refDb.url, env: { ADMIN: "1" } }),
      startAuthkeep({ databaseUrl: akPgDb.url, env: ak }),
      startAuthkeep({ databaseUrl: akLiteDb.url, env: ak }),
    ]);
    [reference.db, akPostgres.db, akSqlite.db] = [refDb, akPgDb, akLiteDb];
  });

  after(async () => {
    await Promise.all([reference, akPostgres, akSqlite].filter(Boolean).map((s) => s.stop()));
    await Promise.all(dbs.map((d) => d.drop()));
  });

  for (const [i, scenario] of scenarios.entries()) {
    test(scenario.name, async () => {
      // Each scenario starts from empty user tables on every server.
      for (const s of [reference, akPostgres, akSqlite]) {
        await query(s.db.url, `delete from "session"`, `delete from "account"`, `delete from "user"`);
      }
      const expected = masked(await scenario.run(reference));
      for (const server of [akPostgres, akSqlite]) {
        const got = masked(await scenario.run(server));
        assert.equal(got.length, expected.length, `${server.label}: number of requests (scenario ${i})`);
        got.forEach((entry, n) => assert.deepEqual(entry, expected[n], `${server.label}: exchange ${n} (${entry.request})`));
      }
    });
  }
});
