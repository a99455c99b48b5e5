// better-auth and authkeep on one SQLite file with one secret: better-auth creates the file,
// authkeep adopts it, and rows written by either (dates as ISO text, booleans as 0/1) are read
// correctly by the other.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import path from "node:path";
import { Browser } from "../harness/browser.mjs";
import { sqliteFile, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";

describe("a better-auth SQLite file shared with authkeep", () => {
  let file, ba, ak;

  before(async () => {
    file = sqliteFile();
    const sqlitePath = file.url.replace(/^sqlite:\/\//, "");
    ba = await startBetterAuth({ env: { SQLITE_PATH: sqlitePath } });
    ak = await startAuthkeep({ databaseUrl: file.url });
    assert.ok(path.isAbsolute(sqlitePath));
  });

  after(async () => {
    await Promise.all([ba, ak].filter(Boolean).map((s) => s.stop()));
    await file?.drop();
  });

  const carry = (from, to) => {
    const b = new Browser(to);
    b.jar = new Map(from.jar);
    return b;
  };

  test("users, passwords and session cookies work across both servers", async () => {
    const onBa = new Browser(ba);
    await onBa.client.signUp.email({ email: "lite-ba@example.com", password: "password1234", name: "Lite BA" });
    const s1 = await carry(onBa, ak).client.getSession();
    assert.equal(s1.data?.user.email, "lite-ba@example.com", "authkeep reads better-auth's rows and cookie");
    assert.equal((await new Browser(ak).client.signIn.email({ email: "lite-ba@example.com", password: "password1234" })).error, null);

    const onAk = new Browser(ak);
    await onAk.client.signUp.email({ email: "lite-ak@example.com", password: "password1234", name: "Lite AK" });
    const s2 = await carry(onAk, ba).client.getSession();
    assert.equal(s2.data?.user.email, "lite-ak@example.com", "better-auth reads authkeep's rows and cookie");
    assert.equal(s2.data?.user.emailVerified, false);
    assert.ok(s2.data?.session.expiresAt > new Date(), "authkeep's expiresAt compares as a live date in better-auth");

    await onAk.client.changePassword({ currentPassword: "password1234", newPassword: "changed-on-ak" });
    assert.equal((await new Browser(ba).client.signIn.email({ email: "lite-ak@example.com", password: "changed-on-ak" })).error, null);
    assert.equal((await carry(onAk, ba).client.listSessions()).data.length, 2, "the sign-up session (authkeep) and the sign-in (better-auth)");
    await carry(onAk, ak).client.signOut();
    assert.equal((await carry(onAk, ba).client.getSession()).data, null);
  });
});
