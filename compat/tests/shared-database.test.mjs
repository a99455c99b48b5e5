// better-auth and authkeep on one PostgreSQL database with one secret: users, passwords and
// session cookies created by either work on the other.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createLocalJWKSet, jwtVerify } from "jose";
import { Browser } from "../harness/browser.mjs";
import { createPgDatabase, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";

describe("a better-auth database shared with authkeep", () => {
  let db, ba, ak;

  before(async () => {
    db = await createPgDatabase();
    ba = await startBetterAuth({ databaseUrl: db.url }); // better-auth creates the schema
    ak = await startAuthkeep({ databaseUrl: db.url }); // authkeep adopts it
  });

  after(async () => {
    await Promise.all([ba, ak].filter(Boolean).map((s) => s.stop()));
    await db?.drop();
  });

  /** The same browser's cookies, presented to the other server. */
  function carry(from, to) {
    const b = new Browser(to);
    b.jar = new Map(from.jar);
    return b;
  }

  test("sign up on better-auth, sign in on authkeep, and back", async () => {
    const onBa = new Browser(ba);
    assert.equal((await onBa.client.signUp.email({ email: "ba-user@example.com", password: "password1234", name: "BA" })).error, null);
    const onAk = new Browser(ak);
    const r = await onAk.client.signIn.email({ email: "ba-user@example.com", password: "password1234" });
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.equal(r.data.user.name, "BA");

    const akFirst = new Browser(ak);
    assert.equal((await akFirst.client.signUp.email({ email: "ak-user@example.com", password: "password1234", name: "AK" })).error, null);
    const baSecond = new Browser(ba);
    const r2 = await baSecond.client.signIn.email({ email: "ak-user@example.com", password: "password1234" });
    assert.equal(r2.error, null, JSON.stringify(r2.error));
    assert.equal(r2.data.user.name, "AK");
  });

  test("a session cookie from either server is accepted by the other", async () => {
    const onBa = new Browser(ba);
    await onBa.client.signUp.email({ email: "cookie-ba@example.com", password: "password1234", name: "Cookie BA" });
    const s1 = await carry(onBa, ak).client.getSession();
    assert.equal(s1.data?.user.email, "cookie-ba@example.com");

    const onAk = new Browser(ak);
    await onAk.client.signUp.email({ email: "cookie-ak@example.com", password: "password1234", name: "Cookie AK" });
    const s2 = await carry(onAk, ba).client.getSession();
    assert.equal(s2.data?.user.email, "cookie-ak@example.com");

    // Signing out on one ends the session on the other.
    await carry(onAk, ak).client.signOut();
    assert.equal((await carry(onAk, ba).client.getSession()).data, null);
  });

  test("a password changed on one server works on the other", async () => {
    const onAk = new Browser(ak);
    await onAk.client.signUp.email({ email: "pw@example.com", password: "password1234", name: "PW" });
    assert.equal((await onAk.client.changePassword({ currentPassword: "password1234", newPassword: "changed-on-ak" })).error, null);
    assert.equal((await new Browser(ba).client.signIn.email({ email: "pw@example.com", password: "changed-on-ak" })).error, null);
    assert.equal((await new Browser(ba).client.signIn.email({ email: "pw@example.com", password: "password1234" })).error.status, 401);

    const onBa = new Browser(ba);
    await onBa.client.signIn.email({ email: "pw@example.com", password: "changed-on-ak" });
    assert.equal((await onBa.client.changePassword({ currentPassword: "changed-on-ak", newPassword: "changed-on-ba" })).error, null);
    assert.equal((await new Browser(ak).client.signIn.email({ email: "pw@example.com", password: "changed-on-ba" })).error, null);
  });

  test("profile updates and revocations are seen by both", async () => {
    const onBa = new Browser(ba);
    await onBa.client.signUp.email({ email: "both@example.com", password: "password1234", name: "Before" });
    const onAk = new Browser(ak);
    await onAk.client.signIn.email({ email: "both@example.com", password: "password1234" });
    await onAk.client.updateUser({ name: "After" });
    assert.equal((await onBa.client.getSession()).data.user.name, "After");
    assert.equal((await onBa.client.listSessions()).data.length, 2);
    await onBa.client.revokeOtherSessions();
    assert.equal((await onAk.client.getSession()).data, null);
  });

  test("both servers sign with the same stored key, so each one's JWKS verifies the other's JWTs", async () => {
    const onBa = new Browser(ba);
    await onBa.client.signUp.email({ email: "jwt-both@example.com", password: "password1234", name: "JWT" });
    const baToken = (await onBa.client.token()).data.token; // better-auth creates and encrypts the key
    const akToken = (await carry(onBa, ak).client.token()).data.token; // authkeep decrypts and uses it
    const kid = (t) => JSON.parse(Buffer.from(t.split(".")[0], "base64url")).kid;
    assert.equal(kid(akToken), kid(baToken));
    const baJwks = createLocalJWKSet((await onBa.client.jwks()).data);
    const akJwks = createLocalJWKSet((await new Browser(ak).client.jwks()).data);
    assert.equal((await jwtVerify(akToken, baJwks, { issuer: ak.origin })).payload.email, "jwt-both@example.com");
    assert.equal((await jwtVerify(baToken, akJwks, { issuer: ba.origin })).payload.email, "jwt-both@example.com");
  });
});
