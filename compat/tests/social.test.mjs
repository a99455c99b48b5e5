// Social sign-in, differential and across servers: a real better-auth 1.7.25 and authkeep with the
// same three providers (the real OpenID Connect provider "idp", and the Google and GitHub
// stand-ins, harness/social.mjs).
//
// 1. Differential: both servers on one PostgreSQL database, each on its own URL. Every journey
//    runs once on each with its own provider users (so a "first sign-in" is a first sign-in on
//    both), and the two answers (status, body, Location, Set-Cookie attributes), the rows written
//    and the session must be the same once what legitimately differs is masked: random values,
//    the server's origin, and the per-server provider users (`ba-…` / `ak-…`).
// 2. Across servers: both servers behind one public URL (authkeep's BETTER_AUTH_URL is
//    better-auth's origin), on one PostgreSQL database and on one SQLite file. A flow started on
//    one finishes on the other, and provider tokens each stores encrypted are read by the other.
//
// Every differential test also pins better-auth's own answers (as captured in the research notes),
// so the two servers cannot agree on something wrong. SOCIAL_DEBUG=<file> appends each
// differential test's masked results (one JSON line) to that file.
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Browser, normalize, normalizeCookie, normalizeTranscript } from "../harness/browser.mjs";
import { query } from "../harness/catalog.mjs";
import { rewriteUrl } from "../harness/fetch-redirect.mjs";
import { CookieJar } from "../harness/http-jar.mjs";
import { createPgDatabase, freePort, sqliteFile, startAuthkeep } from "../harness/servers.mjs";
import { authkeepSocialToml, CLIENTS, startSocialStack } from "../harness/social.mjs";

const PROVIDERS = ["idp", "google", "github"];
const RANDOM_PARAMS = new Set(["state", "code_challenge", "nonce"]);

/** authkeep's TOML in a temporary directory; returns { file, drop }. */
function tomlFile(text) {
  const dir = mkdtempSync(path.join(tmpdir(), "authkeep-social-"));
  const file = path.join(dir, "authkeep.toml");
  writeFileSync(file, text);
  return { file, drop: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A JSON request through a Browser (its cookies, its Origin); the body parsed when JSON. */
async function call(b, url, body, method = body === undefined ? "GET" : "POST") {
  const res = await b.fetch(url, body === undefined ? { method } : { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  let json;
  try { json = text === "" ? "" : JSON.parse(text); } catch { json = text; }
  return { status: res.status, body: json, location: res.headers.get("location"), setCookies: res.headers.getSetCookie(), headers: res.headers };
}

/** The last recorded exchange of `b`, normalized as the differential tests do, without its request line. */
function lastExchange(b) {
  const { request: _, ...rest } = normalizeTranscript([b.transcript.at(-1)])[0];
  return rest;
}

const stateOf = (url) => new URL(url).searchParams.get("state");
const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;

async function accountRow(dbUrl, providerId, accountId) {
  const rows = await query(dbUrl, `select * from account where "providerId" = ${quote(providerId)} and "accountId" = ${quote(accountId)}`);
  assert.equal(rows.length, 1, `one ${providerId} account ${accountId}`);
  return rows[0];
}

async function userRow(dbUrl, id) {
  return (await query(dbUrl, `select * from "user" where id = ${quote(id)}`))[0];
}

async function stateRows(dbUrl, state) {
  return query(dbUrl, `select identifier from verification where identifier = ${quote(`auth-state:${state}`)}`);
}

/** What may be compared of an account row: which token columns are set, not their values. */
function accountFacts(row) {
  const present = (v) => v !== null && v !== undefined;
  const expiresIn = (v) => (present(v) ? Math.round((new Date(v).getTime() - Date.now()) / 60_000) : null); // minutes
  return {
    providerId: row.providerId,
    accountId: row.accountId,
    scope: row.scope,
    accessToken: present(row.accessToken),
    refreshToken: present(row.refreshToken),
    idToken: present(row.idToken),
    accessTokenExpiresInMinutes: expiresIn(row.accessTokenExpiresAt),
    refreshTokenExpiresAt: present(row.refreshTokenExpiresAt),
    password: row.password,
  };
}

const userFacts = (row) => ({ name: row.name, email: row.email, emailVerified: Boolean(row.emailVerified), image: row.image });

/** The authorize URL as comparable parts: endpoint (real hosts mapped to the stand-ins), parameters in order. */
function authorizeShape(url, hosts, origin) {
  const u = new URL(rewriteUrl(url, hosts));
  return {
    endpoint: `${u.origin}${u.pathname}`,
    params: [...u.searchParams].map(([k, v]) => [k, RANDOM_PARAMS.has(k) ? "<random>" : k === "redirect_uri" ? v.replace(origin, "<origin>") : v]),
  };
}

function checkRandomParams(url, provider) {
  const p = new URL(url).searchParams;
  assert.match(p.get("state"), /^[A-Za-z0-9_-]{32}$/, "state");
  assert.match(p.get("code_challenge"), /^[A-Za-z0-9_-]{43}$/, "code_challenge (S256 of a verifier)");
  if (provider === "idp") assert.match(p.get("nonce"), /^[A-Za-z0-9_-]{32}$/, "nonce");
  else assert.equal(p.get("nonce"), null, "no nonce for Google and GitHub");
}

/**
 * Provider users named `name`: an IdP account, a Google user and a GitHub user, each with its own
 * verified email (`<name>@idp.test`, `@google.test`, `@github.test`); `seed` and `n` make the
 * Google sub and GitHub id unique. `idp`, `google`, `github` override fields.
 */
function addPeople(stack, name, { seed, n, idp = {}, google = {}, github = {} }) {
  const googleSub = `${seed}${String(n).padStart(20, "0")}`;
  const githubId = seed * 1_000_000 + n;
  const tag = name.replace(/^[a-z]+-/, "");
  const person = {
    idp: { id: name, email: `${name}@idp.test`, email_verified: true, name: `Ida ${tag}`, picture: `https://idp.test/${tag}.png`, ...idp },
    google: { sub: googleSub, email: `${name}@google.test`, email_verified: true, name: `Gina ${tag}`, given_name: "Gina", family_name: tag, picture: `https://lh3.googleusercontent.com/a/${tag}`, ...google },
    github: { id: githubId, login: name, name: `Octo ${tag}`, email: `${name}@github.test`, emails: [{ email: `${name}@github.test`, primary: true, verified: true, visibility: "public" }], ...github },
  };
  stack.idp.addAccount(person.idp);
  stack.google.addUser(person.google);
  stack.github.addUser(person.github);
  return {
    ...person,
    who: { idp: person.idp.id, google: person.google.sub, github: person.github.login },
    accountId: { idp: person.idp.id, google: person.google.sub, github: String(person.github.id) },
    email: { idp: person.idp.email, google: person.google.email, github: person.github.email },
  };
}

// ---------------------------------------------------------------------------------------------
describe("differential: the same social journeys on better-auth and on authkeep (one PostgreSQL database)", () => {
  let db, stack, ak, toml;
  const sides = [];

  before(async () => {
    db = await createPgDatabase();
    const akPort = await freePort();
    stack = await startSocialStack({ databaseUrl: db.url, extraOrigins: [`http://127.0.0.1:${akPort}`] }); // better-auth creates the schema
    toml = tomlFile(authkeepSocialToml(stack));
    ak = await startAuthkeep({ databaseUrl: db.url, config: toml.file, port: akPort }); // authkeep adopts it
    sides.push(newSide("ba", stack.server), newSide("ak", ak));
  });

  after(async () => {
    await ak?.stop();
    await stack?.stop();
    await db?.drop();
    toml?.drop();
  });

  function newSide(key, server) {
    return { key, server, counter: 0, replacements: [[server.origin, "<origin>"], [`${key}-`, "<side>-"]] };
  }

  /** Provider users for one side (`<side>-<tag>`); their ids are masked in the comparison. */
  function people(side, tag, opts = {}) {
    const n = ++side.counter;
    const person = addPeople(stack, `${side.key}-${tag}`, { seed: side.key === "ba" ? 2 : 3, n, ...opts });
    side.replacements.push([person.google.sub, `<google:${tag}>`], [String(person.github.id), `<github:${tag}>`]);
    return person;
  }

  /** Masks random values (browser.mjs's normalize), then this side's origin and provider users. */
  function mask(side, value) {
    const m = (v) => {
      if (Array.isArray(v)) return v.map(m);
      if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, m(x)]));
      if (typeof v === "string") return side.replacements.reduce((s, [a, b]) => s.split(a).join(b), v);
      return v;
    };
    return m(normalize(value));
  }

  /** Runs `journey(side)` on better-auth, then on authkeep; each section of the masked results must match. */
  async function differential(journey) {
    const results = {};
    for (const side of sides) results[side.key] = mask(side, await journey(side));
    // SOCIAL_DEBUG=<file>: each journey's masked results, one JSON line per test, for reading.
    if (process.env.SOCIAL_DEBUG) appendFileSync(process.env.SOCIAL_DEBUG, `${JSON.stringify(results)}\n`);
    for (const section of Object.keys(results.ba)) {
      assert.deepEqual(results.ak[section], results.ba[section], `${section}: authkeep differs from better-auth`);
    }
    assert.deepEqual(Object.keys(results.ak), Object.keys(results.ba));
    return results;
  }

  const url = (side, p) => `${side.server.baseURL}${p}`;

  /** POST /sign-in/social on `side`, then the provider: returns the start answer and the callback URL. */
  async function startAndLogin(side, b, provider, body, who, { cancel = false, jar } = {}) {
    const start = await call(b, url(side, "/sign-in/social"), { provider, ...body });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    const callbackUrl = cancel ? await stack.cancel(provider, start.body.url) : await stack.login(provider, start.body.url, who, { jar });
    assert.equal(new URL(callbackUrl).origin, side.server.origin, "the provider sends the browser back to the server that started");
    return { start, callbackUrl };
  }

  const FLOW = { callbackURL: "/dashboard", newUserCallbackURL: "/welcome", errorCallbackURL: "/oops" };

  // better-auth's own answers, as captured (research FINDINGS §1, §2, §5, §6), so that agreeing is not agreeing on nonsense.
  const SCOPES = {
    idp: "openid,email,profile",
    google: "https://www.googleapis.com/auth/userinfo.email,https://www.googleapis.com/auth/userinfo.profile,openid",
    github: "read:user,user:email",
  };
  const STATE_COOKIE = "better-auth.state=<value>; Max-Age=300; Path=/; HttpOnly; SameSite=Lax";
  const STATE_GONE = "better-auth.state=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax";
  const SESSION_COOKIE = "better-auth.session_token=<value>; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax";
  const redirectTo = (location, setCookies) => ({ status: 302, body: "", headers: { "content-type": "application/json", location }, setCookies });
  const signedIn = (location) => ({ status: 302, body: "", headers: { "content-type": "application/json", location, "set-auth-token": "<token>.<signature>" }, setCookies: [STATE_GONE, SESSION_COOKIE] });

  for (const provider of PROVIDERS) {
    test(`${provider}: sign-in/social, the authorize URL, the callback, the rows, the session, list-accounts, get-access-token, a returning user`, async () => {
      const { ba } = await differential(async (side) => {
        const person = people(side, `first-${provider}`);
        const b = new Browser(side.server);
        const { start, callbackUrl } = await startAndLogin(side, b, provider, FLOW, person.who[provider]);
        const startEntry = lastExchange(b); // sign-in/social (the provider has its own cookie jar)
        checkRandomParams(start.body.url, provider);
        assert.equal(start.location, start.body.url, "Location is the body's url");
        const state = stateOf(start.body.url);
        assert.equal((await stateRows(db.url, state)).length, 1, "the auth-state row is written");

        const cb = await b.fetch(callbackUrl);
        await cb.arrayBuffer();
        const callback = lastExchange(b);
        assert.equal((await stateRows(db.url, state)).length, 0, "the auth-state row is deleted on success");

        const session = await call(b, url(side, "/get-session"));
        const accounts = await call(b, url(side, "/list-accounts"));
        const row = await accountRow(db.url, provider, person.accountId[provider]);
        const user = await userRow(db.url, row.userId);
        assert.equal(user.email, person.email[provider]);
        const token = await call(b, url(side, "/get-access-token"), { accountId: row.id });
        assert.equal(typeof token.body.accessToken, "string");
        assert.ok(token.body.accessToken.length > 0);

        // The same person again, in another browser: a returning user.
        const again = new Browser(side.server);
        const second = await startAndLogin(side, again, provider, FLOW, person.who[provider]);
        const cb2 = await again.fetch(second.callbackUrl);
        await cb2.arrayBuffer();
        const returning = lastExchange(again);
        const rowAfter = await accountRow(db.url, provider, person.accountId[provider]);
        assert.equal(rowAfter.id, row.id, "the same account row");
        assert.notEqual(rowAfter.accessToken, row.accessToken, "the new access token is stored");

        return {
          "sign-in/social status and body keys": { status: start.status, keys: Object.keys(start.body), redirect: start.body.redirect },
          "sign-in/social headers and cookies": { ...startEntry, headers: { ...startEntry.headers, location: "<authorize url>" }, body: "<checked above>" },
          "authorize URL": authorizeShape(start.body.url, stack.hosts, side.server.origin),
          "state cookie": start.setCookies.filter((c) => c.startsWith("better-auth.state=")).map(normalizeCookie),
          "callback (new user)": callback,
          "account row": accountFacts(row),
          "user row": userFacts(user),
          "get-session": session,
          "get-session key order": { top: Object.keys(session.body), user: Object.keys(session.body.user), session: Object.keys(session.body.session) },
          "list-accounts": accounts,
          "list-accounts key order": accounts.body.map((a) => Object.keys(a)),
          "get-access-token": { status: token.status, keys: Object.keys(token.body), scopes: token.body.scopes, idToken: token.body.idToken, accessTokenExpiresAt: token.body.accessTokenExpiresAt, accessTokenIsStored: token.body.accessToken === row.accessToken },
          "callback (returning user)": returning,
          "account row (returning user)": accountFacts(rowAfter),
        };
      });
      assert.deepEqual(ba["state cookie"], [STATE_COOKIE]);
      assert.deepEqual(ba["callback (new user)"], signedIn("/welcome"));
      assert.deepEqual(ba["callback (returning user)"], signedIn("/dashboard"));
      assert.equal(ba["account row"].scope, SCOPES[provider]);
      assert.equal(ba["account row"].password, null);
      assert.equal(ba["user row"].emailVerified, true);
      assert.deepEqual(ba["list-accounts key order"], [["accountId", "providerId", "userId", "createdAt", "updatedAt", "id", "scopes"]]);
      assert.deepEqual(ba["get-access-token"].keys, provider === "github" ? ["accessToken", "scopes"] : ["accessToken", "accessTokenExpiresAt", "scopes", "idToken"]);
    });
  }

  test("cancel at the provider: access_denied, with error_description (idp, github) and without (google); to errorCallbackURL or the default error page", async () => {
    const { ba } = await differential(async (side) => {
      const out = {};
      for (const [provider, body] of [["idp", FLOW], ["github", FLOW], ["google", FLOW], ["google", { callbackURL: "/dashboard" }], ["idp", { callbackURL: "/dashboard" }]]) {
        const b = new Browser(side.server);
        const { callbackUrl } = await startAndLogin(side, b, provider, body, null, { cancel: true });
        assert.equal(new URL(callbackUrl).searchParams.get("error"), "access_denied");
        await (await b.fetch(callbackUrl)).arrayBuffer();
        out[`${provider} ${body.errorCallbackURL ? "with" : "without"} errorCallbackURL`] = lastExchange(b);
      }
      return out;
    });
    assert.deepEqual(ba["idp with errorCallbackURL"], redirectTo("/oops?error=access_denied&error_description=End-User+aborted+interaction", [STATE_GONE]));
    assert.deepEqual(ba["github with errorCallbackURL"], redirectTo("/oops?error=access_denied&error_description=The+user+has+denied+your+application+access.", [STATE_GONE]));
    assert.deepEqual(ba["google with errorCallbackURL"], redirectTo("/oops?error=access_denied", [STATE_GONE]));
    assert.deepEqual(ba["google without errorCallbackURL"], redirectTo("<origin>/api/auth/error?error=access_denied", [STATE_GONE]));
  });

  test("state abuse: forged state, missing state, a callback replayed, a browser without the state cookie (the row is kept and the right browser still finishes)", async () => {
    const { ba } = await differential(async (side) => {
      const person = people(side, "state");
      const out = {};

      // Forged: a well-formed state that was never issued.
      const b1 = new Browser(side.server);
      const s1 = await startAndLogin(side, b1, "idp", FLOW, person.who.idp);
      const forged = new URL(s1.callbackUrl);
      forged.searchParams.set("state", "A".repeat(32));
      await (await b1.fetch(forged)).arrayBuffer();
      out.forged = lastExchange(b1);

      // Missing state.
      await (await b1.fetch(url(side, "/callback/idp?code=abc"))).arrayBuffer();
      out.missing = lastExchange(b1);

      // Without the state cookie: another browser delivers the right callback URL.
      const b2 = new Browser(side.server);
      const s2 = await startAndLogin(side, b2, "google", FLOW, person.who.google);
      const state = stateOf(s2.start.body.url);
      const stranger = new Browser(side.server);
      await (await stranger.fetch(s2.callbackUrl)).arrayBuffer();
      out["no state cookie"] = lastExchange(stranger);
      out["row kept after the cookie-less callback"] = (await stateRows(db.url, state)).length;
      await (await b2.fetch(s2.callbackUrl)).arrayBuffer();
      out["the right browser then"] = lastExchange(b2);
      out["row after success"] = (await stateRows(db.url, state)).length;

      // The same callback URL again: the state is spent.
      await (await b2.fetch(s2.callbackUrl)).arrayBuffer();
      out.replay = lastExchange(b2);
      return out;
    });
    assert.deepEqual(ba.forged, redirectTo("<origin>/api/auth/error?error=state_mismatch", []));
    assert.deepEqual(ba.missing, redirectTo("<origin>/api/auth/error?error=state_not_found", []));
    assert.deepEqual(ba["no state cookie"], redirectTo("/oops?error=state_mismatch", []));
    assert.equal(ba["row kept after the cookie-less callback"], 1);
    assert.deepEqual(ba["the right browser then"], signedIn("/welcome"));
    assert.deepEqual(ba.replay, redirectTo("<origin>/api/auth/error?error=state_mismatch", []));
  });

  test("a local unverified email/password user with the provider's email: account_not_linked, no account row, no second user", async () => {
    const { ba } = await differential(async (side) => {
      const person = people(side, "unlinked");
      const out = {};
      for (const provider of PROVIDERS) {
        const local = new Browser(side.server);
        const signUp = await call(local, url(side, "/sign-up/email"), { email: person.email[provider], password: "password1234", name: "Local" });
        assert.equal(signUp.status, 200, JSON.stringify(signUp.body));
        const b = new Browser(side.server);
        const { callbackUrl } = await startAndLogin(side, b, provider, FLOW, person.who[provider]);
        await (await b.fetch(callbackUrl)).arrayBuffer();
        out[`${provider} callback`] = lastExchange(b);
        out[`${provider} rows`] = {
          accounts: (await query(db.url, `select "providerId" from account where "userId" = ${quote(signUp.body.user.id)} order by "providerId"`)).map((r) => r.providerId),
          users: (await query(db.url, `select count(*)::int as n from "user" where email = ${quote(person.email[provider])}`))[0].n,
          providerAccounts: (await query(db.url, `select count(*)::int as n from account where "providerId" = ${quote(provider)} and "accountId" = ${quote(person.accountId[provider])}`))[0].n,
        };
      }
      return out;
    });
    for (const provider of PROVIDERS) {
      assert.deepEqual(ba[`${provider} callback`], redirectTo("/oops?error=account_not_linked", [STATE_GONE]));
      assert.deepEqual(ba[`${provider} rows`], { accounts: ["credential"], users: 1, providerAccounts: 0 });
    }
  });

  test("a GitHub user without any email: email_not_found", async () => {
    const { ba } = await differential(async (side) => {
      const out = {};
      for (const body of [FLOW, { callbackURL: "/dashboard" }]) {
        const b = new Browser(side.server);
        const { callbackUrl } = await startAndLogin(side, b, "github", body, "octo-noemail");
        await (await b.fetch(callbackUrl)).arrayBuffer();
        out[body.errorCallbackURL ? "with errorCallbackURL" : "default error page"] = lastExchange(b);
      }
      out.rows = (await query(db.url, `select count(*)::int as n from account where "providerId" = 'github' and "accountId" = '1004'`))[0].n;
      return out;
    });
    assert.deepEqual(ba["with errorCallbackURL"], redirectTo("/oops?error=email_not_found", [STATE_GONE]));
    assert.deepEqual(ba["default error page"], redirectTo("<origin>/api/auth/error?error=email_not_found", [STATE_GONE]));
    assert.equal(ba.rows, 0);
  });

  test("ID-token sign-in with Google tokens: valid (new and returning user), wrong aud, expired, alg none", async () => {
    const { ba } = await differential(async (side) => {
      const person = people(side, "onetap");
      const g = person.google;
      const claims = { sub: g.sub, email: g.email, email_verified: true, name: g.name, picture: g.picture, given_name: g.given_name, family_name: g.family_name };
      const out = {};
      const signIn = async (label, token) => {
        const b = new Browser(side.server);
        await call(b, url(side, "/sign-in/social"), { provider: "google", idToken: { token } });
        const e = lastExchange(b);
        out[label] = e;
        if (e.body && typeof e.body === "object") out[`${label}: key order`] = { top: Object.keys(b.transcript.at(-1).body), user: Object.keys(b.transcript.at(-1).body.user ?? {}) };
        return b;
      };
      const b = await signIn("valid, new user", await stack.google.mintIdToken(claims));
      out["account row"] = accountFacts(await accountRow(db.url, "google", g.sub));
      out["user row"] = userFacts(await userRow(db.url, (await accountRow(db.url, "google", g.sub)).userId));
      out["get-session"] = (await call(b, url(side, "/get-session"))).body;
      await signIn("valid, returning user", await stack.google.mintIdToken(claims));
      await signIn("wrong aud", await stack.google.mintIdToken({ ...claims, aud: "someone-else.apps.googleusercontent.test" }));
      await signIn("expired", await stack.google.mintIdToken(claims, { expiresIn: -3600 }));
      await signIn("alg none", await stack.google.mintIdToken(claims, { alg: "none" }));
      await signIn("not a JWT", "not-a-jwt");
      return out;
    });
    assert.equal(ba["valid, new user"].status, 200);
    assert.deepEqual(ba["valid, new user: key order"], { top: ["redirect", "token", "user"], user: ["name", "email", "emailVerified", "image", "createdAt", "updatedAt", "id"] });
    assert.deepEqual(ba["valid, new user"].setCookies, [SESSION_COOKIE]);
    assert.deepEqual(ba["account row"], { providerId: "google", accountId: "<google:onetap>", scope: null, accessToken: false, refreshToken: false, idToken: true, accessTokenExpiresInMinutes: null, refreshTokenExpiresAt: false, password: null });
    assert.equal(ba["valid, returning user"].status, 200);
    for (const bad of ["wrong aud", "expired", "alg none", "not a JWT"]) {
      assert.deepEqual(ba[bad], { status: 401, body: { message: "Invalid token", code: "INVALID_TOKEN" }, headers: { "content-type": "application/json" }, setCookies: [] }, bad);
    }
  });

  test("link-social (GitHub) for an email/password user, list-accounts, then unlink-account and the last account", async () => {
    const { ba } = await differential(async (side) => {
      const person = people(side, "linker");
      const out = {};
      const b = new Browser(side.server);
      const signUp = await call(b, url(side, "/sign-up/email"), { email: person.email.github, password: "password1234", name: "Linker" });
      assert.equal(signUp.status, 200);
      const link = await call(b, url(side, "/link-social"), { provider: "github", callbackURL: "/settings", errorCallbackURL: "/link-error" });
      const linkEntry = lastExchange(b);
      assert.equal(link.location, link.body.url);
      out["link-social"] = { ...linkEntry, headers: { ...linkEntry.headers, location: "<authorize url>" }, body: { ...linkEntry.body, url: "<authorize url>" } };
      out["authorize URL"] = authorizeShape(link.body.url, stack.hosts, side.server.origin);
      const callbackUrl = await stack.login("github", link.body.url, person.who.github);
      await (await b.fetch(callbackUrl)).arrayBuffer();
      out.callback = lastExchange(b);
      const row = await accountRow(db.url, "github", person.accountId.github);
      assert.equal(row.userId, signUp.body.user.id, "linked to the signed-in user");
      out["account row"] = accountFacts(row);
      out["user row"] = userFacts(await userRow(db.url, row.userId));
      const listed = await call(b, url(side, "/list-accounts"));
      out["list-accounts"] = listed;
      out["list-accounts key order"] = listed.body.map((a) => Object.keys(a));
      await call(b, url(side, "/unlink-account"), { accountId: row.id });
      out["unlink github"] = lastExchange(b);
      out["rows after unlink"] = (await query(db.url, `select "providerId" from account where "userId" = ${quote(row.userId)}`)).map((r) => r.providerId);
      const credential = (await call(b, url(side, "/list-accounts"))).body[0];
      await call(b, url(side, "/unlink-account"), { accountId: credential.id });
      out["unlink the last account"] = lastExchange(b);
      return out;
    });
    assert.deepEqual(ba["link-social"].setCookies, [STATE_COOKIE]);
    assert.deepEqual(ba.callback, redirectTo("/settings", [STATE_GONE]));
    assert.equal(ba["user row"].emailVerified, false, "link-social does not verify the local email");
    assert.deepEqual(ba["list-accounts"].body.map((a) => a.providerId), ["credential", "github"]);
    assert.deepEqual(ba["unlink github"].body, { status: true });
    assert.deepEqual(ba["rows after unlink"], ["credential"]);
    assert.deepEqual(ba["unlink the last account"].body, { message: "You can't unlink your last account", code: "FAILED_TO_UNLINK_LAST_ACCOUNT" });
  });

  test("more callback errors: no code, another provider's callback, an unknown provider, a foreign iss, a token endpoint error, two flows in one browser", async () => {
    const { ba } = await differential(async (side) => {
      const person = people(side, "errors");
      const out = {};
      const deliver = async (b, u, label) => {
        await (await b.fetch(u)).arrayBuffer();
        out[label] = lastExchange(b);
      };
      const edit = (u, fn) => { const x = new URL(u); fn(x); return x.toString(); };

      const b1 = new Browser(side.server);
      const s1 = await startAndLogin(side, b1, "idp", FLOW, person.who.idp);
      await deliver(b1, edit(s1.callbackUrl, (x) => x.searchParams.delete("code")), "state without code");

      const b2 = new Browser(side.server);
      const s2 = await startAndLogin(side, b2, "google", FLOW, person.who.google);
      await deliver(b2, edit(s2.callbackUrl, (x) => { x.pathname = x.pathname.replace(/google$/, "github"); }), "google's code on /callback/github");

      const b3 = new Browser(side.server);
      const s3 = await startAndLogin(side, b3, "google", FLOW, person.who.google);
      await deliver(b3, edit(s3.callbackUrl, (x) => { x.pathname = x.pathname.replace(/google$/, "nope"); }), "valid state on /callback/nope");

      const b4 = new Browser(side.server);
      const s4 = await startAndLogin(side, b4, "idp", FLOW, person.who.idp);
      await deliver(b4, edit(s4.callbackUrl, (x) => x.searchParams.set("iss", "https://evil.test")), "idp with a foreign iss");

      const b5 = new Browser(side.server);
      const s5 = await startAndLogin(side, b5, "google", FLOW, person.who.google);
      stack.google.failNextToken({ status: 400, body: { error: "invalid_grant", error_description: "Bad Request" } });
      await deliver(b5, s5.callbackUrl, "Google's token endpoint refuses the code");

      const b6 = new Browser(side.server);
      const s6 = await startAndLogin(side, b6, "github", FLOW, person.who.github);
      stack.github.failNextToken({ error: "bad_verification_code", error_description: "The code passed is incorrect or expired." });
      await deliver(b6, s6.callbackUrl, "GitHub's token endpoint refuses the code (HTTP 200)");

      // Two sign-ins in one browser: the cookie holds the second flow's state.
      const b7 = new Browser(side.server);
      const first = await startAndLogin(side, b7, "idp", { callbackURL: "/one", errorCallbackURL: "/oops1" }, person.who.idp);
      await startAndLogin(side, b7, "google", { callbackURL: "/two", errorCallbackURL: "/oops2" }, person.who.google);
      await deliver(b7, first.callbackUrl, "the first flow's callback while the cookie holds the second's");

      out["accounts written"] = (await query(db.url, `select "providerId" from account where "accountId" in (${[person.accountId.idp, person.accountId.google, person.accountId.github].map(quote).join(", ")})`)).length;
      return out;
    });
    assert.deepEqual(ba["state without code"], redirectTo("/oops?error=no_code", [STATE_GONE]));
    assert.deepEqual(ba["google's code on /callback/github"], redirectTo("/oops?error=invalid_code", [STATE_GONE]));
    assert.deepEqual(ba["valid state on /callback/nope"], redirectTo("/oops?error=oauth_provider_not_found", [STATE_GONE]));
    assert.deepEqual(ba["idp with a foreign iss"], redirectTo("/oops?error=issuer_mismatch", [STATE_GONE]));
    assert.deepEqual(ba["Google's token endpoint refuses the code"], redirectTo("/oops?error=invalid_code", [STATE_GONE]));
    assert.deepEqual(ba["GitHub's token endpoint refuses the code (HTTP 200)"], redirectTo("/oops?error=invalid_code", [STATE_GONE]));
    assert.equal(ba["the first flow's callback while the cookie holds the second's"].headers.location, "/oops1?error=state_mismatch");
    assert.equal(ba["accounts written"], 0);
  });

  test("sign-in/social request errors, disableRedirect, and more ID tokens (foreign key, issuers, nonce, no email, GitHub, an unverified local user)", async () => {
    const { ba } = await differential(async (side) => {
      const person = people(side, "more");
      const out = {};
      const b = new Browser(side.server);
      const send = async (label, body, init) => {
        if (init) await b.fetch(url(side, "/sign-in/social"), init);
        else await call(b, url(side, "/sign-in/social"), body);
        const e = lastExchange(b);
        out[label] = e;
        return b.transcript.at(-1);
      };
      await send("unknown provider", { provider: "nope" });
      await send("untrusted callbackURL", { provider: "google", callbackURL: "https://evil.test/x" });
      await send("untrusted newUserCallbackURL", { provider: "google", newUserCallbackURL: "https://evil.test/x" });
      await send("untrusted errorCallbackURL", { provider: "google", errorCallbackURL: "https://evil.test/x" });
      await send("reserved additionalParams", { provider: "google", additionalParams: { state: "x" } });
      await send("form-encoded body", null, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "provider=google" });
      const trusted = await send("a trusted-origin callbackURL", { provider: "google", callbackURL: "http://localhost:5173/after" });
      out["a trusted-origin callbackURL"] = { ...out["a trusted-origin callbackURL"], headers: { ...out["a trusted-origin callbackURL"].headers, location: "<authorize url>" }, body: { ...out["a trusted-origin callbackURL"].body, url: "<authorize url>" } };
      out["a trusted-origin callbackURL: stored"] = JSON.parse((await query(db.url, `select value from verification where identifier = ${quote(`auth-state:${stateOf(trusted.body.url)}`)}`))[0].value).callbackURL;
      const noRedirect = await send("disableRedirect", { provider: "github", disableRedirect: true, loginHint: "someone" });
      out.disableRedirect = { ...out.disableRedirect, body: { ...out.disableRedirect.body, url: "<authorize url>" } };
      out["disableRedirect: authorize URL"] = authorizeShape(noRedirect.body.url, stack.hosts, side.server.origin);

      const g = person.google;
      const claims = { sub: g.sub, email: g.email, email_verified: true, name: g.name, picture: g.picture };
      const idToken = async (label, token, extra = {}) => {
        const t = new Browser(side.server);
        await call(t, url(side, "/sign-in/social"), { provider: extra.provider ?? "google", idToken: { token, ...(extra.nonce ? { nonce: extra.nonce } : {}) } });
        out[`idToken: ${label}`] = lastExchange(t);
      };
      await idToken("signed by a key not in the JWKS", await stack.google.mintIdToken(claims, { foreignKey: true }));
      await idToken("foreign issuer", await stack.google.mintIdToken({ ...claims, iss: "https://evil.test" }));
      await idToken("issued more than an hour ago", await stack.google.mintIdToken(claims, { iat: Math.floor(Date.now() / 1000) - 7200, expiresIn: 10_800 }));
      await idToken("nonce differs", await stack.google.mintIdToken({ ...claims, nonce: "n-123" }), { nonce: "n-456" });
      await idToken("body nonce, none in the token", await stack.google.mintIdToken(claims), { nonce: "n-123" });
      await idToken("no email claim", await stack.google.mintIdToken({ ...claims, email: undefined }));
      await idToken("GitHub has no ID tokens", "whatever", { provider: "github" });
      const local = new Browser(side.server);
      await call(local, url(side, "/sign-up/email"), { email: `${side.key}-more-local@google.test`, password: "password1234", name: "Local" });
      await idToken("the email of an unverified local user", await stack.google.mintIdToken({ ...claims, sub: `${g.sub}9`, email: `${side.key}-more-local@google.test` }));
      await idToken("issuer without scheme, nonce matches", await stack.google.mintIdToken({ ...claims, iss: "accounts.google.com", nonce: "n-123" }), { nonce: "n-123" });
      return out;
    });
    assert.deepEqual(ba["unknown provider"].body, { message: "Provider not found", code: "PROVIDER_NOT_FOUND" });
    assert.equal(ba["untrusted callbackURL"].status, 403);
    assert.equal(ba["form-encoded body"].status, 415);
    assert.equal(ba["a trusted-origin callbackURL: stored"], "http://localhost:5173/after");
    assert.equal(ba.disableRedirect.headers.location, undefined);
    assert.deepEqual(ba.disableRedirect.setCookies, [STATE_COOKIE]);
    for (const label of ["signed by a key not in the JWKS", "foreign issuer", "issued more than an hour ago", "nonce differs", "body nonce, none in the token"]) {
      assert.deepEqual(ba[`idToken: ${label}`].body, { message: "Invalid token", code: "INVALID_TOKEN" }, label);
    }
    assert.deepEqual(ba["idToken: no email claim"].body, { message: "User email not found", code: "USER_EMAIL_NOT_FOUND" });
    assert.deepEqual(ba["idToken: GitHub has no ID tokens"].body, { message: "id_token not supported", code: "ID_TOKEN_NOT_SUPPORTED" });
    assert.deepEqual(ba["idToken: the email of an unverified local user"].body, { message: "account not linked", code: "OAUTH_LINK_ERROR" });
    assert.equal(ba["idToken: issuer without scheme, nonce matches"].status, 200);
  });

  test("who the provider's user becomes: implicit linking to a verified local user, provider-unverified emails, GitHub's private and unverified addresses", async () => {
    const { ba } = await differential(async (side) => {
      const out = {};
      const signInAs = async (label, provider, who, body = FLOW) => {
        const b = new Browser(side.server);
        const { callbackUrl } = await startAndLogin(side, b, provider, body, who);
        await (await b.fetch(callbackUrl)).arrayBuffer();
        out[label] = lastExchange(b);
        return b;
      };
      // A local user who verified the email the IdP vouches for: linked implicitly.
      const linked = people(side, "implicit");
      const local = new Browser(side.server);
      const signUp = await call(local, url(side, "/sign-up/email"), { email: linked.email.idp, password: "password1234", name: "Local Name" });
      await query(db.url, `update "user" set "emailVerified" = true where id = ${quote(signUp.body.user.id)}`);
      const b = await signInAs("verified local user, verified provider email", "idp", linked.who.idp);
      out["implicit link: accounts"] = (await query(db.url, `select "providerId", scope, password is null as "noPassword" from account where "userId" = ${quote(signUp.body.user.id)} order by "providerId"`));
      out["implicit link: user"] = userFacts(await userRow(db.url, signUp.body.user.id));
      out["implicit link: session user"] = (await call(b, url(side, "/get-session"))).body.user;

      // The provider says unverified: a local verified user is not linked; a new user is unverified.
      const unverified = people(side, "unverified", { idp: { email_verified: false }, google: { email_verified: false } });
      const other = new Browser(side.server);
      const su2 = await call(other, url(side, "/sign-up/email"), { email: unverified.email.idp, password: "password1234", name: "Local" });
      await query(db.url, `update "user" set "emailVerified" = true where id = ${quote(su2.body.user.id)}`);
      await signInAs("verified local user, unverified provider email", "idp", unverified.who.idp, { callbackURL: "/dashboard" });
      await signInAs("new user, unverified Google email", "google", unverified.who.google);
      out["unverified Google user"] = userFacts(await userRow(db.url, (await accountRow(db.url, "google", unverified.accountId.google)).userId));

      // GitHub: private address (primary, verified) and a user without a name; an unverified primary address.
      const gh = people(side, "private", { github: { name: null, email: null, emails: [{ email: `${side.key}-other@github.test`, primary: false, verified: true, visibility: null }, { email: `${side.key}-private@github.test`, primary: true, verified: true, visibility: "private" }] } });
      await signInAs("GitHub private email", "github", gh.who.github);
      out["GitHub private email: user"] = userFacts(await userRow(db.url, (await accountRow(db.url, "github", gh.accountId.github)).userId));
      const ghu = people(side, "ghunverified", { github: { email: null, emails: [{ email: `${side.key}-ghunverified@github.test`, primary: true, verified: false, visibility: "private" }] } });
      await signInAs("GitHub unverified primary email", "github", ghu.who.github);
      out["GitHub unverified primary email: user"] = userFacts(await userRow(db.url, (await accountRow(db.url, "github", ghu.accountId.github)).userId));
      return out;
    });
    assert.deepEqual(ba["verified local user, verified provider email"], signedIn("/dashboard"));
    assert.deepEqual(ba["implicit link: accounts"].map((r) => r.providerId), ["credential", "idp"]);
    assert.deepEqual(ba["verified local user, unverified provider email"], redirectTo("<origin>/api/auth/error?error=account_not_linked", [STATE_GONE]));
    assert.equal(ba["unverified Google user"].emailVerified, false);
    assert.deepEqual(ba["GitHub private email: user"], { name: "<side>-private", email: "<side>-private@github.test", emailVerified: true, image: "https://avatars.githubusercontent.com/u/<github:private>?v=4" });
    assert.equal(ba["GitHub unverified primary email: user"].emailVerified, false);
  });

  test("link-social: scopes merged on a second link, refusals (other email, unverified, signed out, no session, unknown provider), and the ID-token variant", async () => {
    const keptRefreshToken = {};
    const { ba } = await differential(async (side) => {
      const out = {};
      const person = people(side, "links");
      const b = new Browser(side.server);
      const su = await call(b, url(side, "/sign-up/email"), { email: person.email.github, password: "password1234", name: "Links" });
      const linkVia = async (label, provider, who, body = {}, browser = b) => {
        const r = await call(browser, url(side, "/link-social"), { provider, callbackURL: "/settings", errorCallbackURL: "/link-error", ...body });
        if (!r.body?.url) { out[label] = lastExchange(browser); return; }
        const callbackUrl = await stack.login(provider, r.body.url, who);
        await (await browser.fetch(callbackUrl)).arrayBuffer();
        out[label] = lastExchange(browser);
      };
      await linkVia("github with scopes [repo]", "github", person.who.github, { scopes: ["repo"] });
      await linkVia("the same GitHub account with scopes [gist]", "github", person.who.github, { scopes: ["gist"] });
      out["merged scope"] = (await accountRow(db.url, "github", person.accountId.github)).scope;
      await linkVia("idp account with another email", "idp", person.who.idp);
      const unv = people(side, "links-unv", { idp: { email_verified: false } });
      await query(db.url, `update "user" set email = ${quote(unv.email.idp)} where id = ${quote(su.body.user.id)}`);
      await linkVia("idp, the same email but unverified", "idp", unv.who.idp);
      await query(db.url, `update "user" set email = ${quote(person.email.github)} where id = ${quote(su.body.user.id)}`);

      // Signed out between link-social and the callback.
      const gone = people(side, "links-gone");
      const g = new Browser(side.server);
      await call(g, url(side, "/sign-up/email"), { email: gone.email.google, password: "password1234", name: "Gone" });
      const r = await call(g, url(side, "/link-social"), { provider: "google", callbackURL: "/settings", errorCallbackURL: "/link-error" });
      const callbackUrl = await stack.login("google", r.body.url, gone.who.google);
      const token = g.jar.get("better-auth.session_token");
      await call(g, url(side, "/sign-out"), {});
      g.jar.set("better-auth.session_token", token); // the browser still presents the dead session
      await (await g.fetch(callbackUrl)).arrayBuffer();
      out["signed out before the callback"] = lastExchange(g);

      const anon = new Browser(side.server);
      await call(anon, url(side, "/link-social"), { provider: "github", callbackURL: "/settings" });
      out["no session"] = lastExchange(anon);
      await call(b, url(side, "/link-social"), { provider: "nope" });
      out["unknown provider"] = lastExchange(b);

      // ID-token variant (Google): the body's tokens are kept.
      const it = people(side, "links-idtoken");
      const ib = new Browser(side.server);
      const isu = await call(ib, url(side, "/sign-up/email"), { email: it.email.google, password: "password1234", name: "Id" });
      const claims = { sub: it.google.sub, email: it.email.google, email_verified: true, name: it.google.name };
      const idLink = async (label, token, browser = ib) => {
        await call(browser, url(side, "/link-social"), { provider: "google", idToken: { token, accessToken: "ya29.from-client", refreshToken: "1//from-client" } });
        out[`idToken: ${label}`] = lastExchange(browser);
      };
      await idLink("valid", await stack.google.mintIdToken(claims));
      const idRow = await accountRow(db.url, "google", it.google.sub);
      assert.equal(idRow.userId, isu.body.user.id);
      // The body's refresh token: better-auth keeps it, authkeep deliberately does not (nothing
      // ties it to the ID token; docs/api-compatibility.md), so it is compared apart below.
      const { refreshToken: _kept, ...facts } = accountFacts(idRow);
      keptRefreshToken[side.key] = idRow.refreshToken;
      out["idToken: row"] = { ...facts, accessTokenValue: idRow.accessToken };
      await idLink("the same account again", await stack.google.mintIdToken(claims));
      await idLink("another email", await stack.google.mintIdToken({ ...claims, sub: `${it.google.sub}1`, email: `${side.key}-else@google.test` }));
      await idLink("unverified", await stack.google.mintIdToken({ ...claims, sub: `${it.google.sub}2`, email_verified: false }));
      await idLink("a bad token", "not-a-jwt");
      // The same Google account, presented by another user whose email it carries: it stays its owner's.
      const thief = new Browser(side.server);
      await call(thief, url(side, "/sign-up/email"), { email: `${side.key}-thief@google.test`, password: "password1234", name: "Thief" });
      await idLink("owned by another user", await stack.google.mintIdToken({ ...claims, email: `${side.key}-thief@google.test` }), thief);
      await call(ib, url(side, "/link-social"), { provider: "github", idToken: { token: "x" } });
      out["idToken: github"] = lastExchange(ib);
      return out;
    });
    assert.deepEqual(ba["github with scopes [repo]"], redirectTo("/settings", [STATE_GONE]));
    assert.equal(ba["merged scope"], "read:user,user:email,repo,read:user,user:email,gist");
    assert.deepEqual(ba["idp account with another email"], redirectTo("/link-error?error=email_does_not_match", [STATE_GONE]));
    assert.deepEqual(ba["idp, the same email but unverified"], redirectTo("/link-error?error=unable_to_link_account", [STATE_GONE]));
    assert.deepEqual(ba["signed out before the callback"], redirectTo("/link-error?error=unable_to_link_account", [STATE_GONE]));
    assert.deepEqual(ba["no session"].body, { message: "Unauthorized", code: "UNAUTHORIZED" });
    assert.deepEqual(ba["unknown provider"].body, { message: "Provider not found", code: "PROVIDER_NOT_FOUND" });
    assert.deepEqual(ba["idToken: valid"].body, { url: "", status: true, redirect: false });
    assert.equal(ba["idToken: row"].accessTokenValue, "ya29.from-client");
    assert.equal(ba["idToken: row"].scope, null);
    assert.deepEqual(keptRefreshToken, { ba: "1//from-client", ak: null });
    assert.deepEqual(ba["idToken: another email"].body, { message: "Account not linked - different emails not allowed", code: "LINKING_DIFFERENT_EMAILS_NOT_ALLOWED" });
    assert.deepEqual(ba["idToken: unverified"].body, { message: "Account not linked - linking not allowed", code: "LINKING_NOT_ALLOWED" });
    assert.deepEqual(ba["idToken: a bad token"].body, { message: "Invalid token", code: "INVALID_TOKEN" });
    assert.deepEqual(ba["idToken: owned by another user"].body, { message: "Social account already linked", code: "SOCIAL_ACCOUNT_ALREADY_LINKED" });
    assert.deepEqual(ba["idToken: github"].body, { message: "id_token not supported", code: "ID_TOKEN_NOT_SUPPORTED" });
  });

  test("provider tokens: get-access-token (refresh when expired, stale without a refresh token, refusals), refresh-token, account-info, unlink-account refusals", async () => {
    const { ba } = await differential(async (side) => {
      const out = {};
      // One address at all three providers, so link-social accepts each.
      const email = `${side.key}-tokens@example.test`;
      const person = people(side, "tokens", { idp: { email }, google: { email }, github: { email, emails: [{ email, primary: true, verified: true, visibility: "public" }] } });
      const b = new Browser(side.server);
      const su = await call(b, url(side, "/sign-up/email"), { email: person.email.idp, password: "password1234", name: "Tokens" });
      await query(db.url, `update "user" set "emailVerified" = true where id = ${quote(su.body.user.id)}`);
      for (const provider of PROVIDERS) {
        const r = await call(b, url(side, "/link-social"), { provider, callbackURL: "/settings" });
        const callbackUrl = await stack.login(provider, r.body.url, person.who[provider]);
        await (await b.fetch(callbackUrl)).arrayBuffer();
        out[`link ${provider}`] = lastExchange(b);
      }
      out["list-accounts"] = (await call(b, url(side, "/list-accounts"))).body;
      const idpRow = await accountRow(db.url, "idp", person.accountId.idp);
      const credential = (await query(db.url, `select id from account where "userId" = ${quote(su.body.user.id)} and "providerId" = 'credential'`))[0];
      // Provider tokens are random: compared as "<token>" (their values are checked below).
      const tokensMasked = (e) => (e.body && typeof e.body === "object" && !Array.isArray(e.body)
        ? { ...e, body: Object.fromEntries(Object.entries(e.body).map(([k, v]) => [k, ["accessToken", "refreshToken"].includes(k) && typeof v === "string" && v ? "<token>" : v])) }
        : e);
      const post = async (label, p, body, browser = b) => {
        const r = await call(browser, url(side, p), body);
        out[label] = tokensMasked(lastExchange(browser));
        return r;
      };
      const shape = (label, r) => { out[`${label}: keys`] = Object.keys(r.body ?? {}); };

      shape("refresh-token idp", await post("refresh-token idp", "/refresh-token", { accountId: idpRow.id }));
      await post("get-access-token {providerId}", "/get-access-token", { providerId: "idp" });
      await post("get-access-token extra key", "/get-access-token", { accountId: idpRow.id, extra: 1 });
      await post("get-access-token useAccountCookie", "/get-access-token", { useAccountCookie: true });
      await post("get-access-token credential", "/get-access-token", { accountId: credential.id });

      await query(db.url, `update account set "accessTokenExpiresAt" = now() - interval '1 hour' where id = ${quote(idpRow.id)}`);
      const before = (await accountRow(db.url, "idp", person.accountId.idp)).accessToken;
      const refreshed = await post("get-access-token idp, expired", "/get-access-token", { accountId: idpRow.id });
      out["expired: refreshed"] = refreshed.body.accessToken !== before && (await accountRow(db.url, "idp", person.accountId.idp)).accessToken === refreshed.body.accessToken;
      out["expired: new expiry in the future"] = new Date(refreshed.body.accessTokenExpiresAt) > new Date();

      await query(db.url, `update account set "accessTokenExpiresAt" = now() - interval '1 hour', "refreshToken" = null where id = ${quote(idpRow.id)}`);
      const stale = await post("get-access-token idp, expired, no refresh token", "/get-access-token", { accountId: idpRow.id });
      out["stale: the stored token"] = stale.body.accessToken === refreshed.body.accessToken;
      await post("refresh-token without a refresh token", "/refresh-token", { accountId: idpRow.id });

      const info = await call(b, url(side, `/account-info?accountId=${idpRow.id}`));
      out["account-info idp"] = { status: info.status, keys: Object.keys(info.body), user: info.body.user, account: info.body.account, dataKeys: Object.keys(info.body.data ?? {}).sort(), data: { id: info.body.data?.id, sub: info.body.data?.sub, email: info.body.data?.email, iss: info.body.data?.iss, aud: info.body.data?.aud } };
      await post("account-info without selector", "/account-info", undefined);
      await call(b, url(side, `/account-info?accountId=${credential.id}`));
      out["account-info credential"] = lastExchange(b);

      await post("unlink {providerId}", "/unlink-account", { providerId: "idp" });
      await post("unlink an unknown id", "/unlink-account", { accountId: "does-not-exist" });
      await post("unlink by the provider's id", "/unlink-account", { accountId: person.accountId.idp });
      await post("unlink without session", "/unlink-account", { accountId: idpRow.id }, new Browser(side.server));
      return out;
    });
    assert.equal(ba["refresh-token idp"].status, 200);
    assert.deepEqual(ba["refresh-token idp: keys"], ["accessToken", "refreshToken", "accessTokenExpiresAt", "refreshTokenExpiresAt", "scope", "idToken", "providerId", "accountId"]);
    assert.deepEqual(ba["get-access-token {providerId}"].body, { message: "[body] Invalid input", code: "VALIDATION_ERROR" });
    assert.deepEqual(ba["get-access-token useAccountCookie"].body, { message: "Account not found", code: "ACCOUNT_NOT_FOUND" });
    assert.deepEqual(ba["get-access-token credential"].body, { message: "Provider credential is not supported.", code: "PROVIDER_NOT_SUPPORTED" });
    assert.equal(ba["expired: refreshed"], true);
    assert.equal(ba["stale: the stored token"], true);
    assert.deepEqual(ba["refresh-token without a refresh token"].body, { message: "Refresh token not found", code: "REFRESH_TOKEN_NOT_FOUND" });
    assert.deepEqual(ba["account-info credential"].body, { message: "Account is not associated with a configured social provider.", code: "PROVIDER_NOT_CONFIGURED" });
    assert.deepEqual(ba["unlink an unknown id"].body, { message: "Account not found", code: "ACCOUNT_NOT_FOUND" });
    assert.equal(ba["unlink without session"].status, 401);
  });

  test("without a session: get-access-token, refresh-token and account-info answer 401 with an empty body typed application/json; list-accounts and unlink-account 401 UNAUTHORIZED", async () => {
    const { ba } = await differential(async (side) => {
      const out = {};
      const anon = new Browser(side.server);
      const probe = async (label, p, body) => { await call(anon, url(side, p), body); out[label] = lastExchange(anon); };
      await probe("get-access-token", "/get-access-token", { accountId: "x" });
      await probe("refresh-token", "/refresh-token", { accountId: "x" });
      await probe("account-info", "/account-info?accountId=x");
      await probe("list-accounts", "/list-accounts");
      await probe("unlink-account", "/unlink-account", { accountId: "x" });
      return out;
    });
    for (const label of ["get-access-token", "refresh-token", "account-info"]) {
      assert.deepEqual(ba[label], { status: 401, body: "", headers: { "content-type": "application/json" }, setCookies: [] }, label);
    }
    assert.deepEqual(ba["list-accounts"].body, { message: "Unauthorized", code: "UNAUTHORIZED" });
  });

  test("sign-out of a session whose user has an idp account: the IdP's end-session URL with id_token_hint, which the IdP honours", async () => {
    const { ba } = await differential(async (side) => {
      const person = people(side, "bye");
      const jar = new CookieJar();
      const b = new Browser(side.server);
      const { callbackUrl } = await startAndLogin(side, b, "idp", FLOW, person.who.idp, { jar });
      await (await b.fetch(callbackUrl)).arrayBuffer();
      const row = await accountRow(db.url, "idp", person.accountId.idp);
      const out = {};
      const r = await call(b, url(side, "/sign-out"), { callbackURL: "/app/done", state: "s1" });
      const e = lastExchange(b);
      assert.equal(r.location, r.body.url);
      const end = new URL(r.body.url);
      assert.equal(end.searchParams.get("id_token_hint"), row.idToken, "id_token_hint is the stored ID token");
      out["sign-out"] = { ...e, headers: { ...e.headers, location: "<end-session url>" }, body: { ...e.body, url: "<end-session url>" } };
      out["body key order"] = Object.keys(r.body);
      out["end-session URL"] = {
        endpoint: `${end.origin}${end.pathname}`,
        params: [...end.searchParams].map(([k, v]) => [k, k === "id_token_hint" ? "<stored id token>" : v.replace(side.server.origin, "<origin>")]),
      };
      out["the IdP's answer"] = (await stack.idp.logoutHttp(r.body.url, { jar })).replace(side.server.origin, "<origin>");
      out["session after"] = (await call(b, url(side, "/get-session"))).body;
      return out;
    });
    assert.deepEqual(ba["body key order"], ["success", "url", "redirect"]);
    assert.deepEqual(ba["end-session URL"], {
      endpoint: `${stack.idp.issuer}/session/end`,
      params: [["id_token_hint", "<stored id token>"], ["post_logout_redirect_uri", "<origin>/app/done"], ["client_id", CLIENTS.idp.clientId], ["state", "s1"]],
    });
    assert.equal(ba["the IdP's answer"], "<origin>/app/done?state=s1");
    assert.equal(ba["session after"], null);
  });
});

// ---------------------------------------------------------------------------------------------
// Both servers behind one public URL, over one database: better-auth listens on the public origin,
// authkeep on its own port with BETTER_AUTH_URL = that origin (as if a proxy sent some paths to
// it), the same secret, the same providers, and provider tokens encrypted at rest on both.
for (const kind of ["postgres", "sqlite"]) {
  describe(`across servers behind one URL (${kind}): a flow started on one finishes on the other`, () => {
    let db, stack, ak, toml, ba;
    let n = 0;
    const seed = kind === "postgres" ? 4 : 5;

    before(async () => {
      db = kind === "postgres" ? await createPgDatabase() : sqliteFile();
      const dbOption = kind === "postgres" ? { databaseUrl: db.url } : { env: { SQLITE_PATH: db.url.slice("sqlite://".length) } };
      stack = await startSocialStack({ ...dbOption, account: { encryptOAuthTokens: true } }); // better-auth creates the schema
      ba = stack.server;
      toml = tomlFile(authkeepSocialToml(stack, { account: { encrypt_oauth_tokens: true } }));
      ak = await startAuthkeep({ databaseUrl: db.url, config: toml.file, baseUrl: ba.origin });
      assert.notEqual(ak.origin, ba.origin);
    });

    after(async () => {
      await ak?.stop();
      await stack?.stop();
      await db?.drop();
      toml?.drop();
    });

    const person = (tag) => addPeople(stack, `${kind}-${tag}`, { seed, n: ++n });
    /** The same URL, sent to authkeep's listener instead of the public origin (better-auth). */
    const toAk = (u) => { const x = new URL(u); return `${ak.origin}${x.pathname}${x.search}`; };
    const servers = () => ({ ba, ak });
    const FLOW = { callbackURL: "/dashboard", newUserCallbackURL: "/welcome", errorCallbackURL: "/oops" };

    /** One browser for the public origin: its cookies go to both listeners (cookies are per host). */
    const browser = () => new Browser(ba, { origin: ba.origin });

    async function sessionOnBoth(b) {
      const [onBa, onAk] = [await call(b, `${ba.baseURL}/get-session`), await call(b, `${ak.baseURL}/get-session`)];
      assert.equal(onBa.status, 200);
      assert.equal(onAk.status, 200);
      assert.ok(onBa.body?.session, "better-auth knows the session");
      assert.deepEqual(normalize(onAk.body), normalize(onBa.body), "both servers describe the session alike");
      assert.equal(onAk.body.session.id, onBa.body.session.id, "the same session");
      return onBa.body;
    }

    function isHexSealed(row, plaintext) {
      for (const col of ["accessToken", "refreshToken"]) {
        if (row[col] === null) continue;
        assert.match(row[col], /^(?:[0-9a-f]{2})+$/, `${col} is stored sealed (hex), not in clear`);
      }
      if (plaintext !== undefined) assert.equal(row.accessToken.length, 2 * (24 + Buffer.byteLength(plaintext) + 16), "nonce ‖ ciphertext ‖ tag, hex");
    }

    for (const provider of PROVIDERS) {
      for (const [from, to] of [["ba", "ak"], ["ak", "ba"]]) {
        test(`${provider}: sign-in started on ${from === "ba" ? "better-auth" : "authkeep"}, callback delivered to ${to === "ba" ? "better-auth" : "authkeep"}`, async () => {
          const who = person(`${provider}-${from}`);
          const b = browser();
          const start = await call(b, `${servers()[from].baseURL}/sign-in/social`, { provider, ...FLOW });
          assert.equal(start.status, 200, JSON.stringify(start.body));
          assert.equal(new URL(start.body.url).searchParams.get("redirect_uri"), `${ba.origin}/api/auth/callback/${provider}`, "the public callback URL");
          const state = stateOf(start.body.url);
          assert.equal((await stateRows(db.url, state)).length, 1);
          const callbackUrl = await stack.login(provider, start.body.url, who.who[provider]);
          assert.equal(new URL(callbackUrl).origin, ba.origin);
          const res = await b.fetch(to === "ak" ? toAk(callbackUrl) : callbackUrl);
          await res.arrayBuffer();
          assert.equal(res.status, 302);
          assert.equal(res.headers.get("location"), "/welcome", `${to} completes the flow ${from} started`);
          assert.deepEqual(res.headers.getSetCookie().map(normalizeCookie), [
            "better-auth.state=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
            "better-auth.session_token=<value>; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax",
          ]);
          assert.equal((await stateRows(db.url, state)).length, 0, "the auth-state row is gone");
          const s = await sessionOnBoth(b);
          assert.equal(s.user.email, who.email[provider]);
          assert.equal(s.user.emailVerified, true);
          const row = await accountRow(db.url, provider, who.accountId[provider]);
          assert.equal(row.userId, s.user.id);
          assert.equal(row.scope, { idp: "openid,email,profile", google: "https://www.googleapis.com/auth/userinfo.email,https://www.googleapis.com/auth/userinfo.profile,openid", github: "read:user,user:email" }[provider]);
          isHexSealed(row);

          // Signed out on the finishing server, the session is gone on both; with an idp account
          // the answer is the IdP's end-session URL with the stored ID token, whoever stored it.
          const out = await call(b, `${servers()[to].baseURL}/sign-out`, {});
          assert.equal(out.status, 200);
          if (provider === "idp") {
            assert.deepEqual(out.body, { success: true, url: `${stack.idp.issuer}/session/end?id_token_hint=${row.idToken}`, redirect: true });
          } else {
            assert.deepEqual(out.body, { success: true });
          }
          assert.equal((await call(b, `${ba.baseURL}/get-session`)).body, null);
          assert.equal((await call(b, `${ak.baseURL}/get-session`)).body, null);
        });
      }
    }

    test("a callback without the state cookie on the other server: state_mismatch, the row kept, then the right browser finishes there", async () => {
      const who = person("nocookie");
      const b = browser();
      const start = await call(b, `${ba.baseURL}/sign-in/social`, { provider: "idp", ...FLOW });
      const callbackUrl = await stack.login("idp", start.body.url, who.who.idp);
      const stranger = browser();
      const r = await stranger.fetch(toAk(callbackUrl));
      assert.equal(r.status, 302);
      assert.equal(r.headers.get("location"), "/oops?error=state_mismatch");
      assert.equal((await stateRows(db.url, stateOf(start.body.url))).length, 1);
      const ok = await b.fetch(toAk(callbackUrl));
      assert.equal(ok.headers.get("location"), "/welcome");
      await sessionOnBoth(b);
    });

    for (const provider of ["github", "idp"]) {
      for (const [from, to] of [["ba", "ak"], ["ak", "ba"]]) {
        test(`link-social (${provider}) started on ${from === "ba" ? "better-auth" : "authkeep"}, finished on ${to === "ba" ? "better-auth" : "authkeep"}`, async () => {
          const who = person(`link-${provider}-${from}`);
          const b = browser();
          const signUp = await call(b, `${servers()[from].baseURL}/sign-up/email`, { email: who.email[provider], password: "password1234", name: "Linker" });
          assert.equal(signUp.status, 200, JSON.stringify(signUp.body));
          const link = await call(b, `${servers()[from].baseURL}/link-social`, { provider, callbackURL: "/settings", errorCallbackURL: "/link-error" });
          assert.equal(link.status, 200, JSON.stringify(link.body));
          const state = stateOf(link.body.url);
          const callbackUrl = await stack.login(provider, link.body.url, who.who[provider]);
          const res = await b.fetch(to === "ak" ? toAk(callbackUrl) : callbackUrl);
          assert.equal(res.status, 302);
          assert.equal(res.headers.get("location"), "/settings", `${to} completes the link ${from} started (it reads the link's sealed session token)`);
          assert.deepEqual(res.headers.getSetCookie().map(normalizeCookie), ["better-auth.state=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"]);
          assert.equal((await stateRows(db.url, state)).length, 0);
          const row = await accountRow(db.url, provider, who.accountId[provider]);
          assert.equal(row.userId, signUp.body.user.id, "linked to the user who asked");
          for (const server of [ba, ak]) {
            const listed = await call(b, `${server.baseURL}/list-accounts`);
            assert.deepEqual(listed.body.map((a) => a.providerId).sort(), ["credential", provider].sort(), server.label);
          }
          const user = await userRow(db.url, row.userId);
          assert.equal(Boolean(user.emailVerified), false, "link-social does not verify the local email");
        });
      }
    }

    /** The userinfo (IdP) or stand-in's own record says whether `token` is a live access token. */
    async function isLiveToken(provider, token) {
      if (provider === "google") return stack.google.accessTokens.has(token);
      if (provider === "github") return stack.github.tokens.has(token);
      const cfg = await (await fetch(stack.idp.discoveryUrl)).json();
      const r = await fetch(cfg.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      return r.status === 200;
    }

    for (const provider of PROVIDERS) {
      for (const [writer, reader] of [["ba", "ak"], ["ak", "ba"]]) {
        test(`${provider} tokens sealed by ${writer === "ba" ? "better-auth" : "authkeep"} are read in clear by ${reader === "ba" ? "better-auth" : "authkeep"}`, async () => {
          const who = person(`tokens-${provider}-${writer}`);
          const b = browser();
          const w = servers()[writer];
          const toWriter = (u) => (writer === "ak" ? toAk(u) : u);
          const start = await call(b, `${w.baseURL}/sign-in/social`, { provider, ...FLOW });
          const callbackUrl = await stack.login(provider, start.body.url, who.who[provider]);
          const res = await b.fetch(toWriter(callbackUrl));
          assert.equal(res.headers.get("location"), "/welcome");
          const row = await accountRow(db.url, provider, who.accountId[provider]);

          const mine = await call(b, `${w.baseURL}/get-access-token`, { accountId: row.id });
          assert.equal(mine.status, 200, JSON.stringify(mine.body));
          const theirs = await call(b, `${servers()[reader].baseURL}/get-access-token`, { accountId: row.id });
          assert.equal(theirs.status, 200, JSON.stringify(theirs.body));
          assert.deepEqual(theirs.body, mine.body, "the reader answers what the writer answers");
          assert.ok(await isLiveToken(provider, theirs.body.accessToken), "a plaintext token the provider issued");
          isHexSealed(row, theirs.body.accessToken);
          assert.notEqual(row.accessToken, theirs.body.accessToken);
          if (provider !== "github") assert.match(row.idToken, /^eyJ/, "the ID token is stored in clear");

          if (provider === "idp") {
            // The reader refreshes with the writer's sealed refresh token; the writer reads the reader's new tokens.
            const refreshed = await call(b, `${servers()[reader].baseURL}/refresh-token`, { accountId: row.id });
            assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
            assert.notEqual(refreshed.body.accessToken, theirs.body.accessToken);
            assert.ok(await isLiveToken("idp", refreshed.body.accessToken));
            const after = await accountRow(db.url, "idp", who.accountId.idp);
            isHexSealed(after, refreshed.body.accessToken);
            const back = await call(b, `${w.baseURL}/get-access-token`, { accountId: row.id });
            assert.equal(back.status, 200, JSON.stringify(back.body));
            assert.equal(back.body.accessToken, refreshed.body.accessToken, "the writer reads the reader's refreshed token");
          }
        });
      }
    }

    if (kind === "sqlite") {
      test("every row either server wrote is stored alike (ISO text dates, 0/1 booleans, text tokens)", async () => {
        const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
        for (const table of ["user", "session", "account"]) {
          const rows = await query(db.url, `select * from "${table}"`);
          const cols = Object.keys(rows[0] ?? {});
          const types = await query(db.url, `select ${cols.map((c) => `typeof("${c}") as "${c}"`).join(", ")} from "${table}"`);
          assert.ok(rows.length > 1, `${table} has rows from both servers`);
          for (const c of cols) {
            const kinds = [...new Set(types.map((t) => t[c]).filter((t) => t !== "null"))];
            assert.ok(kinds.length <= 1, `${table}.${c} is stored as ${kinds.join(" and ")}`);
            if (/At$/.test(c)) for (const r of rows) if (r[c] !== null) assert.match(r[c], ISO, `${table}.${c}`);
          }
        }
        const verified = await query(db.url, `select distinct "emailVerified" as v from "user"`);
        assert.deepEqual(verified.map((r) => r.v).sort(), [0, 1]);
      });
    }
  });
}
