// A local stand-in for Google's OAuth 2.0 / OpenID Connect endpoints, following Google's public
// documents ("Using OAuth 2.0 for Web Server Applications", "OpenID Connect"):
//   GET  /o/oauth2/v2/auth        accounts.google.com: account chooser (or auto-approve), then a
//                                 302 to redirect_uri with code, state, scope, authuser, prompt;
//                                 "Cancel" gives error=access_denied (&state)
//   POST /token                   oauth2.googleapis.com: grant_type=authorization_code (PKCE S256
//                                 or plain verified when a challenge was sent) and refresh_token;
//                                 client_secret_post or client_secret_basic
//   POST /revoke                  oauth2.googleapis.com
//   GET  /oauth2/v3/certs         www.googleapis.com: the signing keys (JWK set, "v3" format)
//   GET  /oauth2/v3/userinfo      www.googleapis.com (also /v1/userinfo of openidconnect.googleapis.com)
// One server serves all four hosts (their paths do not collide); `hosts` maps each real host to it
// for harness/fetch-redirect.mjs.
//
// API
//   const google = await start({
//     clients: [{ client_id, client_secret, redirect_uris }],
//     users?: [{ sub, email, email_verified, name, given_name?, family_name?, picture?, hd? }],
//     accessTokenTTL?: seconds (default 3599, as Google answers),
//     autoApprove?: sub   // the authorize endpoint skips the chooser and approves as this user
//   })
//   google.origin, google.hosts            { "accounts.google.com": origin, ... }
//   google.users                           Map sub -> user; google.addUser(user)
//   google.loginHttp(authorizeUrl, subOrEmail, { jar? }) -> redirect_uri URL with code and state
//   google.cancelHttp(authorizeUrl, { jar? }) -> redirect_uri URL with error=access_denied
//   google.mintIdToken(claims, { alg?: "RS256" | "none", foreignKey?: bool, expiresIn?: s, iat?: s })
//       -> a Google-shaped ID token for idToken sign-in tests: claims override the defaults
//          { iss: "https://accounts.google.com", azp/aud: first client, sub/email/... of users[0],
//            iat: now, exp: now + 3600 }; foreignKey signs with a key not in the JWKS.
//   google.failNextToken({ status, body })  the next /token answer is this (a provider error)
//   google.stop()
// Authorize URLs may point at https://accounts.google.com: the helpers rewrite them.
//
// Browser use: chooser page has one button per user, `button[data-sub="<sub>"]`, and `#cancel`.
import http from "node:http";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { SignJWT, importJWK } from "jose";
import { CookieJar, close, escapeHtml, follow, formBody, listen, readBody } from "./http-jar.mjs";

export const GOOGLE_HOSTS = ["accounts.google.com", "oauth2.googleapis.com", "www.googleapis.com", "openidconnect.googleapis.com"];

export const DEFAULT_GOOGLE_USERS = [
  { sub: "100000000000000000001", email: "verified@google.test", email_verified: true, name: "Gina Verified", given_name: "Gina", family_name: "Verified", picture: "https://lh3.googleusercontent.com/a/verified" },
  { sub: "100000000000000000002", email: "unverified@google.test", email_verified: false, name: "Ulla Unverified", given_name: "Ulla", family_name: "Unverified", picture: "https://lh3.googleusercontent.com/a/unverified" },
];

// Google reports the short scope names by their full URLs in token responses.
const SCOPE_URLS = { email: "https://www.googleapis.com/auth/userinfo.email", profile: "https://www.googleapis.com/auth/userinfo.profile" };
const fullScope = (s) => SCOPE_URLS[s] ?? s;

function makeKey() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomBytes(20).toString("hex");
  return { kid, privateJwk: { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256" }, publicJwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } };
}

const b64url = (buf) => Buffer.from(buf).toString("base64url");
const sha256 = (s) => createHash("sha256").update(s).digest();

export async function start(options = {}) {
  const clients = new Map(options.clients.map((c) => [c.client_id, c]));
  const users = new Map();
  const addUser = (u) => users.set(u.sub, u);
  for (const u of options.users ?? DEFAULT_GOOGLE_USERS) addUser(u);
  const ttl = options.accessTokenTTL ?? 3599;
  const key = makeKey();
  const foreign = makeKey();
  const signingKey = await importJWK(key.privateJwk, "RS256");
  const foreignSigningKey = await importJWK({ ...foreign.privateJwk, kid: key.kid }, "RS256");

  const pending = new Map(); // request id -> authorize params
  const codes = new Map(); // code -> { params, sub, used }
  const accessTokens = new Map(); // token -> { sub, clientId, scopes, exp }
  const refreshTokens = new Map(); // token -> { sub, clientId, scopes, nonce }
  const granted = new Map(); // `${sub} ${clientId}` -> Set(scopes)
  let failNext = null;

  const server = http.createServer();
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;

  async function idToken(user, clientId, extra = {}) {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: "https://accounts.google.com", azp: clientId, aud: clientId, sub: user.sub,
      ...(user.hd ? { hd: user.hd } : {}),
      email: user.email, email_verified: user.email_verified,
      ...extra,
      name: user.name, picture: user.picture, given_name: user.given_name, family_name: user.family_name,
      iat: now, exp: now + 3600,
    };
    return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" }).sign(signingKey);
  }

  function issueAccess(sub, clientId, scopes) {
    const token = `ya29.${randomBytes(48).toString("base64url")}`;
    accessTokens.set(token, { sub, clientId, scopes, exp: Date.now() + ttl * 1000 });
    return token;
  }

  function json(res, status, body, headers = {}) {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache, no-store, max-age=0, must-revalidate", pragma: "no-cache", ...headers });
    res.end(JSON.stringify(body, null, 2));
  }

  function html(res, status, title, body) {
    res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
  }

  function redirectTo(res, base, params) {
    const u = new URL(base);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
    res.writeHead(302, { location: u.toString() });
    res.end();
  }

  function approve(res, params, sub) {
    const code = `4/0${randomBytes(32).toString("base64url")}`;
    codes.set(code, { params, sub, used: false, exp: Date.now() + 600_000 });
    const scopes = params.scope.split(" ").filter(Boolean);
    redirectTo(res, params.redirect_uri, { state: params.state, code, scope: scopes.map(fullScope).join(" "), authuser: "0", prompt: params.prompt ?? "none" });
  }

  // Client authentication as Google accepts it: HTTP Basic or client_id/client_secret in the body.
  function clientFrom(req, body) {
    const auth = req.headers.authorization ?? "";
    let id = body.client_id;
    let secret = body.client_secret;
    if (auth.startsWith("Basic ")) {
      const [u, p] = Buffer.from(auth.slice(6), "base64").toString().split(":");
      id = decodeURIComponent(u);
      secret = decodeURIComponent(p ?? "");
    }
    const client = clients.get(id);
    return client && client.client_secret === secret ? client : null;
  }

  async function token(req, res) {
    const body = await readBody(req);
    if (failNext) {
      const f = failNext;
      failNext = null;
      return json(res, f.status, f.body);
    }
    const client = clientFrom(req, body);
    if (!client) return json(res, 401, { error: "invalid_client", error_description: "Unauthorized" });
    if (body.grant_type === "authorization_code") {
      const entry = codes.get(body.code);
      if (!entry || entry.used || entry.exp < Date.now() || entry.params.client_id !== client.client_id) {
        return json(res, 400, { error: "invalid_grant", error_description: "Malformed auth code." });
      }
      if (body.redirect_uri !== entry.params.redirect_uri) return json(res, 400, { error: "redirect_uri_mismatch", error_description: "Bad Request" });
      if (entry.params.code_challenge) {
        if (!body.code_verifier) return json(res, 400, { error: "invalid_grant", error_description: "Missing code verifier." });
        const method = entry.params.code_challenge_method ?? "plain";
        const computed = method === "S256" ? b64url(sha256(body.code_verifier)) : body.code_verifier;
        if (computed !== entry.params.code_challenge) return json(res, 400, { error: "invalid_grant", error_description: "Invalid code verifier." });
      }
      entry.used = true;
      const user = users.get(entry.sub);
      const requested = entry.params.scope.split(" ").filter(Boolean);
      const grantKey = `${user.sub} ${client.client_id}`;
      const firstGrant = !granted.has(grantKey);
      const all = new Set([...(entry.params.include_granted_scopes === "true" ? granted.get(grantKey) ?? [] : []), ...requested]);
      granted.set(grantKey, new Set([...(granted.get(grantKey) ?? []), ...requested]));
      const scopes = [...all];
      const accessToken = issueAccess(user.sub, client.client_id, scopes);
      const out = { access_token: accessToken, expires_in: ttl };
      // Google returns a refresh token for offline access on the first consent, or whenever the
      // user is asked to consent again (prompt=consent).
      if (entry.params.access_type === "offline" && (firstGrant || (entry.params.prompt ?? "").split(" ").includes("consent"))) {
        const rt = `1//0${randomBytes(40).toString("base64url")}`;
        refreshTokens.set(rt, { sub: user.sub, clientId: client.client_id, scopes });
        out.refresh_token = rt;
      }
      out.scope = scopes.map(fullScope).join(" ");
      out.token_type = "Bearer";
      if (scopes.includes("openid")) {
        out.id_token = await idToken(user, client.client_id, {
          at_hash: b64url(sha256(accessToken).subarray(0, 16)),
          ...(entry.params.nonce ? { nonce: entry.params.nonce } : {}),
        });
      }
      return json(res, 200, out);
    }
    if (body.grant_type === "refresh_token") {
      const rt = refreshTokens.get(body.refresh_token);
      if (!rt || rt.clientId !== client.client_id) return json(res, 400, { error: "invalid_grant", error_description: "Token has been expired or revoked." });
      const user = users.get(rt.sub);
      const accessToken = issueAccess(rt.sub, rt.clientId, rt.scopes);
      const out = { access_token: accessToken, expires_in: ttl, scope: rt.scopes.map(fullScope).join(" "), token_type: "Bearer" };
      if (rt.scopes.includes("openid")) out.id_token = await idToken(user, client.client_id, { at_hash: b64url(sha256(accessToken).subarray(0, 16)) });
      return json(res, 200, out);
    }
    return json(res, 400, { error: "unsupported_grant_type", error_description: `Invalid grant_type: ${body.grant_type ?? ""}` });
  }

  function bearer(req) {
    const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "");
    const t = m && accessTokens.get(m[1]);
    return t && t.exp > Date.now() ? t : null;
  }

  server.on("request", async (req, res) => {
    const url = new URL(req.url, origin);
    try {
      if (req.method === "GET" && url.pathname === "/o/oauth2/v2/auth") {
        const params = Object.fromEntries(url.searchParams);
        const client = clients.get(params.client_id);
        // Google shows an error page (no redirect) when the client or redirect URI is wrong.
        if (!client) return html(res, 401, "Error 401: invalid_client", "<p>The OAuth client was not found.</p>");
        if (!client.redirect_uris.includes(params.redirect_uri)) return html(res, 400, "Error 400: redirect_uri_mismatch", `<p>redirect_uri=${escapeHtml(params.redirect_uri ?? "")}</p>`);
        if (params.response_type !== "code") return redirectTo(res, params.redirect_uri, { error: "unsupported_response_type", state: params.state });
        if (!params.scope) return redirectTo(res, params.redirect_uri, { error: "invalid_request", error_description: "Missing required parameter: scope", state: params.state });
        if (options.autoApprove) return approve(res, params, options.autoApprove);
        const id = randomBytes(16).toString("hex");
        pending.set(id, params);
        const hint = params.login_hint;
        const buttons = [...users.values()].map((u) => `<form method="post" action="/o/oauth2/v2/auth/approve"><input type="hidden" name="request" value="${id}"><input type="hidden" name="user" value="${escapeHtml(u.sub)}"><button type="submit" data-sub="${escapeHtml(u.sub)}"${hint === u.email ? " autofocus" : ""}>${escapeHtml(u.name)} &lt;${escapeHtml(u.email)}&gt;</button></form>`).join("");
        return html(res, 200, "Choose an account", `<p>to continue to ${escapeHtml(client.client_id)}</p>${buttons}<form method="post" action="/o/oauth2/v2/auth/deny"><input type="hidden" name="request" value="${id}"><button id="cancel" type="submit">Cancel</button></form>`);
      }
      if (req.method === "POST" && (url.pathname === "/o/oauth2/v2/auth/approve" || url.pathname === "/o/oauth2/v2/auth/deny")) {
        const body = await readBody(req);
        const params = pending.get(body.request);
        if (!params) return html(res, 400, "Error 400: invalid_request", "<p>Unknown or used request.</p>");
        pending.delete(body.request);
        if (url.pathname.endsWith("/deny")) return redirectTo(res, params.redirect_uri, { error: "access_denied", state: params.state });
        if (!users.has(body.user)) return html(res, 400, "Error 400: invalid_request", "<p>Unknown user.</p>");
        return approve(res, params, body.user);
      }
      if (req.method === "POST" && url.pathname === "/token") return await token(req, res);
      if (req.method === "POST" && url.pathname === "/revoke") {
        const body = { ...Object.fromEntries(url.searchParams), ...(await readBody(req)) };
        if (!accessTokens.delete(body.token) && !refreshTokens.delete(body.token)) return json(res, 400, { error: "invalid_token", error_description: "Token expired or revoked" });
        return json(res, 200, {});
      }
      if (req.method === "GET" && url.pathname === "/oauth2/v3/certs") {
        return json(res, 200, { keys: [key.publicJwk] }, { "cache-control": "public, max-age=21600, must-revalidate, no-transform" });
      }
      if (req.method === "GET" && (url.pathname === "/oauth2/v3/userinfo" || url.pathname === "/v1/userinfo")) {
        const t = bearer(req);
        if (!t) return json(res, 401, { error: "invalid_request", error_description: "Invalid Credentials" }, { "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' });
        const u = users.get(t.sub);
        const out = { sub: u.sub };
        if (t.scopes.includes("profile")) Object.assign(out, { name: u.name, given_name: u.given_name, family_name: u.family_name, picture: u.picture });
        if (t.scopes.includes("email")) Object.assign(out, { email: u.email, email_verified: u.email_verified });
        if (u.hd) out.hd = u.hd;
        return json(res, 200, out);
      }
      json(res, 404, { error: "not_found" });
    } catch (err) {
      json(res, 500, { error: "server_error", error_description: String(err?.message ?? err) });
    }
  });

  const local = (u) => {
    const x = new URL(u);
    return GOOGLE_HOSTS.includes(x.hostname) ? `${origin}${x.pathname}${x.search}` : x.toString();
  };
  const leftGoogle = (u) => !u.startsWith(`${origin}/`);
  const findUser = (who) => users.get(who) ?? [...users.values()].find((u) => u.email === who);

  async function loginHttp(authorizeUrl, who, { jar = new CookieJar() } = {}) {
    const r = await follow(jar, local(authorizeUrl), { stop: leftGoogle });
    if (!r.response) return r.url;
    const page = await r.response.text();
    const id = /name="request" value="([0-9a-f]+)"/.exec(page)?.[1];
    if (!id) throw new Error(`Google stand-in: no chooser (${r.response.status}): ${page}`);
    const user = findUser(who);
    if (!user) throw new Error(`Google stand-in: unknown user ${who}`);
    return (await follow(jar, `${origin}/o/oauth2/v2/auth/approve`, { stop: leftGoogle, init: formBody({ request: id, user: user.sub }) })).url;
  }

  async function cancelHttp(authorizeUrl, { jar = new CookieJar() } = {}) {
    const r = await follow(jar, local(authorizeUrl), { stop: leftGoogle });
    if (!r.response) return r.url;
    const id = /name="request" value="([0-9a-f]+)"/.exec(await r.response.text())?.[1];
    return (await follow(jar, `${origin}/o/oauth2/v2/auth/deny`, { stop: leftGoogle, init: formBody({ request: id }) })).url;
  }

  async function mintIdToken(claims = {}, { alg = "RS256", foreignKey = false, expiresIn = 3600, iat } = {}) {
    const user = [...users.values()][0];
    const clientId = [...clients.keys()][0];
    const now = iat ?? Math.floor(Date.now() / 1000);
    const payload = {
      iss: "https://accounts.google.com", azp: clientId, aud: clientId, sub: user.sub, email: user.email,
      email_verified: user.email_verified, name: user.name, picture: user.picture, given_name: user.given_name,
      family_name: user.family_name, iat: now, exp: now + expiresIn, ...claims,
    };
    if (alg === "none") return `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(payload))}.`;
    return new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" }).sign(foreignKey ? foreignSigningKey : signingKey);
  }

  return {
    origin,
    hosts: Object.fromEntries(GOOGLE_HOSTS.map((h) => [h, origin])),
    users,
    addUser,
    loginHttp,
    cancelHttp,
    mintIdToken,
    failNextToken: (f) => { failNext = f; },
    accessTokens,
    refreshTokens,
    stop: () => close(server),
  };
}
