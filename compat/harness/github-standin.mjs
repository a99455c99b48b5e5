// A local stand-in for a GitHub OAuth app, following GitHub's public documents ("Authorizing
// OAuth apps", "Troubleshooting OAuth app access token request errors", REST "Users" and "Emails"):
//   GET  /login/oauth/authorize     github.com: an authorize page (or auto-approve), then a 302 to
//                                   redirect_uri with code and state; "Cancel" gives
//                                   error=access_denied&error_description=…&error_uri=…&state=
//   POST /login/oauth/access_token  github.com: form or JSON body; `accept: application/json` gives
//                                   JSON, otherwise a form-encoded body; errors are answered with
//                                   HTTP 200 and {error, error_description, error_uri}, as GitHub
//                                   does; PKCE (S256) checked when a challenge was sent; with
//                                   `expiringTokens` also expires_in/refresh_token and the
//                                   refresh_token grant (GitHub Apps' expiring user tokens)
//   GET  /user                      api.github.com: {login, id, name, email (null when private),
//                                   avatar_url, ...}; needs `authorization: Bearer|token <t>` and a
//                                   User-Agent header (403 without one)
//   GET  /user/emails               api.github.com: [{email, primary, verified, visibility}];
//                                   404 without the user:email (or user) scope
// One server serves both hosts; `hosts` maps github.com and api.github.com to it.
//
// API
//   const gh = await start({
//     clients: [{ client_id, client_secret, redirect_uris }],
//     users?: [{ id, login, name, email, avatar_url?, emails: [{email, primary, verified, visibility}] }],
//     autoApprove?: login,
//     expiringTokens?: boolean (default false), accessTokenTTL?: seconds (default 28800)
//   })
//   gh.origin, gh.hosts, gh.users (Map login -> user), gh.addUser(user)
//   gh.loginHttp(authorizeUrl, login, { jar? }) -> redirect_uri URL with code and state
//   gh.cancelHttp(authorizeUrl, { jar? }) -> redirect_uri URL with error=access_denied
//   gh.failNextToken(body)      the next /login/oauth/access_token answer is this JSON (HTTP 200)
//   gh.stop()
// Default users: `octo-public` (public verified email), `octo-private` (email null, a primary
// verified address in /user/emails), `octo-unverified` (email null, primary address unverified),
// `octo-noemail` (email null, no addresses at all).
// Browser use: authorize page has `#authorize` (as the user chosen in `select[name=user]`,
// preselected by ?login=) and `#cancel`.
import http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { CookieJar, close, escapeHtml, follow, formBody, listen, readBody } from "./http-jar.mjs";

export const GITHUB_HOSTS = ["github.com", "api.github.com"];

const avatar = (id) => `https://avatars.githubusercontent.com/u/${id}?v=4`;
export const DEFAULT_GITHUB_USERS = [
  { id: 1001, login: "octo-public", name: "Octo Public", email: "public@github.test", emails: [{ email: "public@github.test", primary: true, verified: true, visibility: "public" }] },
  { id: 1002, login: "octo-private", name: null, email: null, emails: [{ email: "other@github.test", primary: false, verified: true, visibility: null }, { email: "private@github.test", primary: true, verified: true, visibility: "private" }] },
  { id: 1003, login: "octo-unverified", name: "Octo Unverified", email: null, emails: [{ email: "unverified@github.test", primary: true, verified: false, visibility: "private" }] },
  { id: 1004, login: "octo-noemail", name: "Octo Noemail", email: null, emails: [] },
];

const DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";
const ERRORS = {
  incorrect_client_credentials: ["The client_id and/or client_secret passed are incorrect.", `${DOCS}/#incorrect-client-credentials`],
  redirect_uri_mismatch: ["The redirect_uri MUST match the registered callback URL for this application.", `${DOCS}/#redirect-uri-mismatch2`],
  bad_verification_code: ["The code passed is incorrect or expired.", `${DOCS}/#bad-verification-code`],
  unsupported_grant_type: ["The grant type is not supported.", `${DOCS}/#unsupported-grant-type`],
  bad_refresh_token: ["The refresh token passed is incorrect or expired.", "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens"],
};

function profile(u) {
  return {
    login: u.login, id: u.id, node_id: `U_${Buffer.from(String(u.id)).toString("base64url")}`,
    avatar_url: u.avatar_url ?? avatar(u.id), gravatar_id: "", url: `https://api.github.com/users/${u.login}`,
    html_url: `https://github.com/${u.login}`, type: "User", site_admin: false,
    name: u.name, company: null, blog: "", location: null, email: u.email, hireable: null, bio: null,
    twitter_username: null, public_repos: 0, public_gists: 0, followers: 0, following: 0,
    created_at: "2020-01-01T00:00:00Z", updated_at: "2025-01-01T00:00:00Z",
  };
}

export async function start(options = {}) {
  const clients = new Map(options.clients.map((c) => [c.client_id, c]));
  const users = new Map();
  const addUser = (u) => users.set(u.login, u);
  for (const u of options.users ?? DEFAULT_GITHUB_USERS) addUser(u);
  const ttl = options.accessTokenTTL ?? 28800;
  const codes = new Map();
  const tokens = new Map(); // access token -> { login, scopes, exp? }
  const refreshTokens = new Map();
  let failNext = null;

  const server = http.createServer();
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;

  function json(res, status, body, headers = {}) {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  }

  function redirectTo(res, base, params) {
    const u = new URL(base);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
    res.writeHead(302, { location: u.toString() });
    res.end();
  }

  // GitHub accepts a redirect_uri whose host and port equal the registered callback URL's and
  // whose path is below it; we keep the registered list exact or prefix-matched the same way.
  function redirectAllowed(client, uri) {
    if (!uri) return true;
    return client.redirect_uris.some((r) => {
      try {
        const a = new URL(r); const b = new URL(uri);
        return a.origin === b.origin && (b.pathname === a.pathname || b.pathname.startsWith(a.pathname.endsWith("/") ? a.pathname : `${a.pathname}/`));
      } catch { return false; }
    });
  }

  function approve(res, params, login) {
    const code = randomBytes(10).toString("hex");
    const client = clients.get(params.client_id);
    codes.set(code, { params, login, redirect: params.redirect_uri ?? client.redirect_uris[0], exp: Date.now() + 600_000 });
    redirectTo(res, params.redirect_uri ?? client.redirect_uris[0], { code, state: params.state });
  }

  function tokenAnswer(req, res, body) {
    const accept = req.headers.accept ?? "";
    if (accept.includes("application/json")) return json(res, 200, body);
    res.writeHead(200, { "content-type": "application/x-www-form-urlencoded; charset=utf-8" });
    res.end(new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString());
  }
  const tokenError = (req, res, code) => tokenAnswer(req, res, { error: code, error_description: ERRORS[code][0], error_uri: ERRORS[code][1] });

  function issue(login, scopes) {
    const accessToken = `${options.expiringTokens ? "ghu" : "gho"}_${randomBytes(27).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;
    tokens.set(accessToken, { login, scopes, exp: options.expiringTokens ? Date.now() + ttl * 1000 : null });
    const out = { access_token: accessToken };
    if (options.expiringTokens) {
      const rt = `ghr_${randomBytes(57).toString("base64url").replace(/[-_]/g, "x").slice(0, 76)}`;
      refreshTokens.set(rt, { login, scopes });
      Object.assign(out, { expires_in: ttl, refresh_token: rt, refresh_token_expires_in: 15897600 });
    }
    // GitHub joins granted scopes with commas in the token response.
    return { ...out, token_type: "bearer", scope: scopes.join(",") };
  }

  async function accessToken(req, res) {
    const url = new URL(req.url, origin);
    const body = { ...Object.fromEntries(url.searchParams), ...(await readBody(req)) };
    if (failNext) {
      const f = failNext;
      failNext = null;
      return tokenAnswer(req, res, f);
    }
    const client = clients.get(body.client_id);
    if (!client || client.client_secret !== body.client_secret) return tokenError(req, res, "incorrect_client_credentials");
    if (body.grant_type === "refresh_token") {
      const rt = refreshTokens.get(body.refresh_token);
      if (!options.expiringTokens || !rt) return tokenError(req, res, "bad_refresh_token");
      refreshTokens.delete(body.refresh_token);
      return tokenAnswer(req, res, issue(rt.login, rt.scopes));
    }
    if (body.grant_type && body.grant_type !== "authorization_code") return tokenError(req, res, "unsupported_grant_type");
    const entry = codes.get(body.code);
    if (!entry || entry.exp < Date.now() || entry.params.client_id !== client.client_id) return tokenError(req, res, "bad_verification_code");
    if (body.redirect_uri && body.redirect_uri !== entry.redirect) return tokenError(req, res, "redirect_uri_mismatch");
    if (entry.params.code_challenge) {
      const ok = body.code_verifier && createHash("sha256").update(body.code_verifier).digest("base64url") === entry.params.code_challenge;
      if (!ok) return tokenError(req, res, "bad_verification_code");
    }
    codes.delete(body.code);
    const scopes = (entry.params.scope ?? "").split(/[ ,]+/).filter(Boolean);
    return tokenAnswer(req, res, issue(entry.login, scopes));
  }

  function api(req, res, url) {
    if (!req.headers["user-agent"]) {
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8" });
      return res.end("Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n");
    }
    const m = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? "");
    if (!m) return json(res, 401, { message: "Requires authentication", documentation_url: "https://docs.github.com/rest/users/users#get-the-authenticated-user", status: "401" });
    const t = tokens.get(m[1]);
    if (!t || (t.exp && t.exp < Date.now())) return json(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
    const u = users.get(t.login);
    const headers = { "x-oauth-scopes": t.scopes.join(", "), "x-accepted-oauth-scopes": url.pathname === "/user/emails" ? "user, user:email" : "" };
    if (url.pathname === "/user") return json(res, 200, profile(u), headers);
    if (!t.scopes.includes("user:email") && !t.scopes.includes("user")) return json(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user", status: "404" }, headers);
    return json(res, 200, u.emails, headers);
  }

  server.on("request", async (req, res) => {
    const url = new URL(req.url, origin);
    try {
      if (req.method === "GET" && url.pathname === "/login/oauth/authorize") {
        const params = Object.fromEntries(url.searchParams);
        const client = clients.get(params.client_id);
        if (!client) return json(res, 404, { message: "Not Found" });
        if (!redirectAllowed(client, params.redirect_uri)) {
          return redirectTo(res, client.redirect_uris[0], { error: "redirect_uri_mismatch", error_description: "The redirect_uri MUST match the registered callback URL for this application.", error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch", state: params.state });
        }
        if (params.code_challenge && params.code_challenge_method && params.code_challenge_method !== "S256") {
          return redirectTo(res, params.redirect_uri ?? client.redirect_uris[0], { error: "invalid_request", error_description: "Only S256 is supported as code_challenge_method", state: params.state });
        }
        if (options.autoApprove) return approve(res, params, options.autoApprove);
        const opts = [...users.values()].map((u) => `<option value="${escapeHtml(u.login)}"${params.login === u.login ? " selected" : ""}>${escapeHtml(u.login)}</option>`).join("");
        const hidden = Object.entries(params).map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join("");
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        return res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Authorize application</title></head><body><h1>Authorize ${escapeHtml(client.client_id)}</h1>
<form method="post" action="/login/oauth/authorize">${hidden}<select name="user">${opts}</select><button id="authorize" name="authorize" value="1" type="submit">Authorize</button></form>
<form method="post" action="/login/oauth/authorize">${hidden}<button id="cancel" name="authorize" value="0" type="submit">Cancel</button></form></body></html>`);
      }
      if (req.method === "POST" && url.pathname === "/login/oauth/authorize") {
        const { user, authorize, ...params } = await readBody(req);
        const client = clients.get(params.client_id);
        if (!client) return json(res, 404, { message: "Not Found" });
        const target = params.redirect_uri ?? client.redirect_uris[0];
        if (authorize !== "1") {
          return redirectTo(res, target, { error: "access_denied", error_description: "The user has denied your application access.", error_uri: "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied", state: params.state });
        }
        if (!users.has(user)) return json(res, 422, { message: "Unknown user" });
        return approve(res, params, user);
      }
      if (req.method === "POST" && url.pathname === "/login/oauth/access_token") return await accessToken(req, res);
      if (req.method === "GET" && (url.pathname === "/user" || url.pathname === "/user/emails")) return api(req, res, url);
      json(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" });
    } catch (err) {
      json(res, 500, { message: String(err?.message ?? err) });
    }
  });

  const local = (u) => {
    const x = new URL(u);
    return GITHUB_HOSTS.includes(x.hostname) ? `${origin}${x.pathname}${x.search}` : x.toString();
  };
  const leftGithub = (u) => !u.startsWith(`${origin}/`);

  async function submit(authorizeUrl, login, authorize, jar) {
    const r = await follow(jar, local(authorizeUrl), { stop: leftGithub });
    if (!r.response) return r.url;
    await r.response.arrayBuffer();
    const params = Object.fromEntries(new URL(r.url).searchParams);
    return (await follow(jar, `${origin}/login/oauth/authorize`, { stop: leftGithub, init: formBody({ ...params, user: login ?? "", authorize }) })).url;
  }

  return {
    origin,
    hosts: Object.fromEntries(GITHUB_HOSTS.map((h) => [h, origin])),
    users,
    addUser,
    loginHttp: (authorizeUrl, login, { jar = new CookieJar() } = {}) => submit(authorizeUrl, login, "1", jar),
    cancelHttp: (authorizeUrl, { jar = new CookieJar() } = {}) => submit(authorizeUrl, null, "0", jar),
    failNextToken: (body) => { failNext = body; },
    tokens,
    stop: () => close(server),
  };
}
