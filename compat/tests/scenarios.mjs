// Scenarios run with better-auth's client against any server. Each asserts the behaviour a
// client relies on and returns the recorded exchanges, so the same scenario run against
// authkeep and against better-auth can be compared response by response.
import assert from "node:assert/strict";
import { createLocalJWKSet, jwtVerify } from "jose";
import { Browser } from "../harness/browser.mjs";
import { TRUSTED } from "../harness/servers.mjs";

const PASSWORD = "password1234";

function transcript(...browsers) {
  return browsers.flatMap((b) => b.transcript);
}

export const scenarios = [
  {
    name: "sign-up, session, sign-out, sign-in, wrong password",
    async run(server) {
      const b = new Browser(server);
      const up = await b.client.signUp.email({ email: "alice@example.com", password: PASSWORD, name: "Alice" });
      assert.equal(up.error, null);
      assert.equal(up.data.user.email, "alice@example.com");
      assert.ok(b.transcript[0].headers["set-auth-token"], "the bearer plugin's header");
      const s1 = await b.client.getSession();
      assert.equal(s1.data.user.name, "Alice");
      assert.equal(s1.data.session.token, up.data.token);
      assert.ok(s1.data.session.expiresAt instanceof Date, "the client revives dates");
      await b.client.signOut();
      assert.equal((await b.client.getSession()).data, null);
      const inn = await b.client.signIn.email({ email: "Alice@Example.com", password: PASSWORD });
      assert.equal(inn.error, null);
      assert.equal(inn.data.redirect, false);
      const bad = await b.client.signIn.email({ email: "alice@example.com", password: "wrong-password" });
      assert.equal(bad.error.status, 401);
      assert.equal(bad.error.code, "INVALID_EMAIL_OR_PASSWORD");
      const unknown = await b.client.signIn.email({ email: "nobody@example.com", password: PASSWORD });
      assert.equal(unknown.error.code, "INVALID_EMAIL_OR_PASSWORD");
      assert.equal((await b.client.getSession()).data.user.email, "alice@example.com");
      return transcript(b);
    },
  },
  {
    name: "sign-up errors",
    async run(server) {
      const b = new Browser(server);
      await b.client.signUp.email({ email: "bob@example.com", password: PASSWORD, name: "Bob" });
      const dup = await b.client.signUp.email({ email: "BOB@example.com", password: PASSWORD, name: "Bob" });
      assert.equal(dup.error.status, 422);
      assert.equal(dup.error.code, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
      const short = await b.client.signUp.email({ email: "c@example.com", password: "short", name: "C" });
      assert.equal(short.error.code, "PASSWORD_TOO_SHORT");
      const long = await b.client.signUp.email({ email: "c@example.com", password: "x".repeat(129), name: "C" });
      assert.equal(long.error.code, "PASSWORD_TOO_LONG");
      const email = await b.client.signUp.email({ email: "not-an-email", password: PASSWORD, name: "C" });
      assert.equal(email.error.code, "VALIDATION_ERROR");
      const missing = await b.raw("/sign-up/email", { method: "POST", body: {} });
      assert.equal(missing.error.status, 400);
      const json = await b.raw("/sign-up/email", { method: "POST", body: "{oops", headers: { "content-type": "application/json" } });
      assert.equal(json.error.code, "BAD_REQUEST");
      return transcript(b);
    },
  },
  {
    name: "rememberMe false and callbackURL",
    async run(server) {
      const setup = new Browser(server);
      await setup.client.signUp.email({ email: "dora@example.com", password: PASSWORD, name: "Dora" });
      const b = new Browser(server);
      const r = await b.client.signIn.email({ email: "dora@example.com", password: PASSWORD, rememberMe: false });
      assert.equal(r.error, null);
      assert.ok(b.jar.has("better-auth.dont_remember"));
      const set = b.transcript.at(-1).setCookies.find((c) => c.startsWith("better-auth.session_token="));
      assert.ok(!/Max-Age/.test(set), "browser-session cookie");
      assert.ok((await b.client.getSession()).data.session);
      const c = new Browser(server);
      const cb = await c.client.signIn.email({ email: "dora@example.com", password: PASSWORD, callbackURL: "/dashboard" });
      assert.equal(cb.data.redirect, true);
      assert.equal(cb.data.url, "/dashboard");
      const evil = await c.client.signIn.email({ email: "dora@example.com", password: PASSWORD, callbackURL: "https://evil.example/steal" });
      assert.equal(evil.error.status, 403);
      assert.equal(evil.error.code, "INVALID_CALLBACK_URL");
      return transcript(b, c);
    },
  },
  {
    name: "update-user",
    async run(server) {
      const b = new Browser(server);
      await b.client.signUp.email({ email: "eve@example.com", password: PASSWORD, name: "Eve" });
      const r = await b.client.updateUser({ name: "Eve Two", image: "https://img.example/e.png" });
      assert.deepEqual(r.data, { status: true });
      const s = await b.client.getSession();
      assert.equal(s.data.user.name, "Eve Two");
      assert.equal(s.data.user.image, "https://img.example/e.png");
      const email = await b.client.updateUser({ email: "other@example.com" });
      assert.equal(email.error.code, "EMAIL_CAN_NOT_BE_UPDATED");
      // The client turns an argument-less call into a GET (a 404); post the empty body directly.
      const none = await b.raw("/update-user", { method: "POST", body: {} });
      assert.equal(none.error.message, "No fields to update");
      await b.client.updateUser({ image: null });
      assert.equal((await b.client.getSession()).data.user.image, null);
      const accounts = await b.client.listAccounts();
      assert.equal(accounts.data.length, 1);
      assert.equal(accounts.data[0].providerId, "credential");
      assert.deepEqual((await b.raw("/verify-password", { method: "POST", body: { password: PASSWORD } })).data, { status: true });
      assert.equal((await b.raw("/verify-password", { method: "POST", body: { password: "nope-nope" } })).error.code, "INVALID_PASSWORD");
      assert.equal((await b.raw("/update-session", { method: "POST", body: { x: 1 } })).error.message, "No fields to update");
      return transcript(b);
    },
  },
  {
    name: "change-password",
    async run(server) {
      const a = new Browser(server);
      await a.client.signUp.email({ email: "fred@example.com", password: PASSWORD, name: "Fred" });
      const other = new Browser(server);
      await other.client.signIn.email({ email: "fred@example.com", password: PASSWORD });
      const wrong = await a.client.changePassword({ currentPassword: "wrong-password", newPassword: "new-password-1" });
      assert.equal(wrong.error.code, "INVALID_PASSWORD");
      const ok = await a.client.changePassword({ currentPassword: PASSWORD, newPassword: "new-password-1" });
      assert.equal(ok.data.token, null);
      const fresh = new Browser(server);
      assert.equal((await fresh.client.signIn.email({ email: "fred@example.com", password: PASSWORD })).error.status, 401);
      assert.equal((await fresh.client.signIn.email({ email: "fred@example.com", password: "new-password-1" })).error, null);
      const revoke = await a.client.changePassword({ currentPassword: "new-password-1", newPassword: "new-password-2", revokeOtherSessions: true });
      assert.equal(typeof revoke.data.token, "string");
      assert.equal((await other.client.getSession()).data, null);
      assert.equal((await a.client.getSession()).data.session.token, revoke.data.token);
      return transcript(a, other, fresh);
    },
  },
  {
    name: "list and revoke sessions",
    async run(server) {
      const a = new Browser(server);
      await a.client.signUp.email({ email: "gina@example.com", password: PASSWORD, name: "Gina" });
      const b = new Browser(server);
      const bIn = await b.client.signIn.email({ email: "gina@example.com", password: PASSWORD });
      const list = await a.client.listSessions();
      assert.equal(list.data.length, 2);
      assert.deepEqual((await a.client.revokeSession({ token: bIn.data.token })).data, { status: true });
      assert.equal((await b.client.getSession()).data, null);
      await b.client.signIn.email({ email: "gina@example.com", password: PASSWORD });
      assert.deepEqual((await a.client.revokeOtherSessions()).data, { status: true });
      assert.equal((await b.client.getSession()).data, null);
      assert.ok((await a.client.getSession()).data);
      assert.deepEqual((await a.client.revokeSessions()).data, { status: true });
      assert.equal((await a.client.getSession()).data, null);
      return transcript(a, b);
    },
  },
  {
    name: "delete-user",
    async run(server) {
      const b = new Browser(server);
      await b.client.signUp.email({ email: "hank@example.com", password: PASSWORD, name: "Hank" });
      const wrong = await b.client.deleteUser({ password: "wrong-password" });
      assert.equal(wrong.error.code, "INVALID_PASSWORD");
      const ok = await b.client.deleteUser({ password: PASSWORD });
      assert.deepEqual(ok.data, { success: true, message: "User deleted" });
      assert.equal((await b.client.getSession()).data, null);
      const again = new Browser(server);
      assert.equal((await again.client.signIn.email({ email: "hank@example.com", password: PASSWORD })).error.status, 401);
      return transcript(b, again);
    },
  },
  {
    name: "bearer tokens",
    async run(server) {
      const b = new Browser(server);
      let issued;
      await b.client.signUp.email({ email: "jo@example.com", password: PASSWORD, name: "Jo" }, {
        onSuccess: (ctx) => { issued = ctx.response.headers.get("set-auth-token"); },
      });
      assert.ok(issued);
      const api = new Browser(server, { origin: null });
      const auth = (token) => ({ fetchOptions: { auth: { type: "Bearer", token } } });
      assert.equal((await api.client.getSession(auth(issued))).data.user.email, "jo@example.com");
      assert.equal((await api.client.getSession(auth(issued.split(".")[0]))).data.user.email, "jo@example.com");
      // A forged signature: its first character changed (changing the last one, as this test
      // once did, can leave the decoded bytes as they were: base64's padding bits).
      const [value, signature] = issued.split(".");
      const forged = `${value}.${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
      assert.equal((await api.client.getSession(auth(forged))).data, null);
      assert.equal((await api.client.listSessions(auth(issued))).data.length, 1);
      return transcript(b, api);
    },
  },
  {
    name: "jwt plugin: token, jwks and set-auth-jwt",
    async run(server) {
      const b = new Browser(server);
      await b.client.signUp.email({ email: "kai@example.com", password: PASSWORD, name: "Kai" });
      const { data } = await b.client.token();
      assert.ok(data.token);
      const jwks = (await b.client.jwks()).data;
      assert.equal(jwks.keys[0].alg, "EdDSA");
      const { payload, protectedHeader } = await jwtVerify(data.token, createLocalJWKSet(jwks), { issuer: server.origin, audience: server.origin });
      assert.equal(payload.email, "kai@example.com");
      assert.equal(payload.sub, payload.id);
      assert.equal(protectedHeader.kid, jwks.keys[0].kid);
      assert.equal(payload.exp - payload.iat, 900);
      let fromHeader;
      await b.client.getSession({ fetchOptions: { onSuccess: (ctx) => { fromHeader = ctx.response.headers.get("set-auth-jwt"); } } });
      assert.ok((await jwtVerify(fromHeader, createLocalJWKSet(jwks))).payload.sub);
      const anon = new Browser(server);
      assert.equal((await anon.client.token()).error.status, 401);
      return transcript(b, anon);
    },
  },
  {
    name: "origins, routing and tampering",
    async run(server) {
      const b = new Browser(server);
      await b.client.signUp.email({ email: "ivy@example.com", password: PASSWORD, name: "Ivy" });
      const evil = new Browser(server, { origin: "https://evil.example" });
      evil.jar = new Map(b.jar);
      const out = await evil.client.signOut();
      assert.equal(out.error.status, 403);
      assert.equal(out.error.code, "INVALID_ORIGIN");
      const spa = new Browser(server, { origin: TRUSTED });
      spa.jar = new Map(b.jar);
      assert.ok((await spa.client.getSession()).data, "a trusted frontend origin reads the session");
      const tampered = new Browser(server);
      tampered.jar.set("better-auth.session_token", "abc.def");
      assert.equal((await tampered.client.getSession()).data, null);
      const unknown = await b.raw("/does-not-exist");
      assert.equal(unknown.error.status, 404);
      const wrongMethod = await b.raw("/sign-in/email", { method: "GET" });
      assert.equal(wrongMethod.error.status, 404);
      assert.deepEqual((await b.raw("/ok")).data, { ok: true });
      const post = await b.raw("/get-session", { method: "POST", body: {} });
      assert.equal(post.error.status, 405);
      return transcript(b, evil, spa, tampered);
    },
  },
];
