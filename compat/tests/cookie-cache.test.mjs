// The session cookie cache against a real better-auth 1.7.25 with the same options, on one
// PostgreSQL database with one secret: for each strategy, a `session_data` cookie written by
// either server is read by the other without the database (the row is deleted behind both
// servers' backs and get-session still answers from the cookie), the cookies have the same
// attributes, and a forged entry is refused by both.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Browser } from "../harness/browser.mjs";
import { decodeCompact, decodeJwt, decryptJwe } from "../harness/cookie-cache.mjs";
import { query } from "../harness/catalog.mjs";
import { SECRET, createPgDatabase, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";

const DATA = "better-auth.session_data";
const attributes = (setCookie) => setCookie.split(";").slice(1).map((s) => s.trim()).join("; ");
const dataCookie = (b) => b.transcript.at(-1).setCookies.find((c) => c.startsWith(`${DATA}=`));

/** The entry's payload, decoded with node:crypto only, and whether it verified. */
const decode = {
  compact: (v) => { const d = decodeCompact(v, SECRET); return { ok: d.signatureValid, payload: d.payload }; },
  jwt: (v) => { const d = decodeJwt(v, SECRET); return { ok: d.signatureValid, payload: d.claims }; },
  jwe: (v) => { const d = decryptJwe(v, SECRET); return { ok: d.tagValid, payload: d.claims }; },
};

for (const strategy of ["compact", "jwt", "jwe"]) {
  describe(`cookie cache, strategy ${strategy}`, () => {
    let db, ba, ak;

    before(async () => {
      db = await createPgDatabase();
      ba = await startBetterAuth({ databaseUrl: db.url, env: { COOKIE_CACHE_STRATEGY: strategy, COOKIE_CACHE_MAX_AGE: "300" } });
      ak = await startAuthkeep({
        databaseUrl: db.url,
        env: { AUTHKEEP_SESSION__COOKIE_CACHE__ENABLED: "true", AUTHKEEP_SESSION__COOKIE_CACHE__STRATEGY: strategy },
      });
    });

    after(async () => {
      await Promise.all([ba, ak].filter(Boolean).map((s) => s.stop()));
      await db?.drop();
    });

    async function signUp(server, email) {
      const b = new Browser(server);
      const r = await b.client.signUp.email({ email, password: "password1234", name: "Cache" });
      assert.equal(r.error, null, JSON.stringify(r.error));
      return b;
    }

    function carry(from, to) {
      const b = new Browser(to);
      b.jar = new Map(from.jar);
      return b;
    }

    test("both servers set session_data alike on sign-up, with the same payload shape", async () => {
      const onBa = await signUp(ba, `${strategy}-shape-ba@example.com`);
      const onAk = await signUp(ak, `${strategy}-shape-ak@example.com`);
      const [fromBa, fromAk] = [dataCookie(onBa), dataCookie(onAk)];
      assert.ok(fromBa && fromAk, "both set session_data");
      assert.equal(attributes(fromAk), attributes(fromBa));
      const [a, b] = [decode[strategy](onBa.jar.get(DATA)), decode[strategy](onAk.jar.get(DATA))];
      assert.ok(a.ok && b.ok, "each verifies with node:crypto");
      const keys = (p) => ({ top: Object.keys(p), session: Object.keys(p.session), user: Object.keys(p.user) });
      assert.deepEqual(keys(b.payload), keys(a.payload));
    });

    test("an entry written by either server answers get-session on the other without the database", async () => {
      for (const [writer, reader] of [[ba, ak], [ak, ba]]) {
        const email = `${strategy}-${writer === ba ? "ba" : "ak"}-writes@example.com`;
        const b = await signUp(writer, email);
        const expected = (await carry(b, reader).client.getSession({ query: { disableCookieCache: true } })).data;
        assert.equal(expected.user.email, email);
        await query(db.url, `DELETE FROM "session" WHERE "userId" = '${expected.user.id}'`);
        const cached = carry(b, reader);
        const r = await cached.client.getSession();
        assert.equal(r.data?.user.email, email, `${writer === ba ? "better-auth" : "authkeep"}'s entry read by the other`);
        assert.deepEqual(r.data, expected);
        // Asking for the database shows the session is gone, on both.
        assert.equal((await carry(b, reader).client.getSession({ query: { disableCookieCache: true } })).data, null);
      }
    });

    test("a forged entry is refused by both, and both expire it and ask the database", async () => {
      for (const server of [ba, ak]) {
        const email = `${strategy}-forged-${server === ba ? "ba" : "ak"}@example.com`;
        const b = await signUp(server, email);
        const value = b.jar.get(DATA);
        b.jar.set(DATA, value.slice(0, -6) + (value.endsWith("AAAAAA") ? "BBBBBB" : "AAAAAA"));
        await query(db.url, `UPDATE "user" SET "name" = 'From DB' WHERE "email" = '${email}'`);
        const r = await b.client.getSession();
        assert.equal(r.data?.user.name, "From DB");
        assert.ok(b.transcript.at(-1).setCookies.some((c) => c.startsWith(`${DATA}=;`) || c.startsWith(`${DATA}=`)));
      }
    });

    test("sign-out expires session_data on both", async () => {
      for (const server of [ba, ak]) {
        const b = await signUp(server, `${strategy}-out-${server === ba ? "ba" : "ak"}@example.com`);
        await b.client.signOut();
        assert.ok(b.transcript.at(-1).setCookies.some((c) => c.startsWith(`${DATA}=;`) && /Max-Age=0/.test(c)));
        assert.equal(b.jar.has(DATA), false);
      }
    });
  });
}
