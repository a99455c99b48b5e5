// A real OpenID Connect provider (panva's oidc-provider) on 127.0.0.1, for social sign-in tests.
//
// API
//   const idp = await start({
//     clients: [{ client_id, client_secret, redirect_uris, post_logout_redirect_uris?,
//                 token_endpoint_auth_method?: "client_secret_post" | "client_secret_basic" }],
//     accounts?: [{ id, email, email_verified, name?, picture?, sub? }],  // added to the defaults below
//     accessTokenTTL?: seconds (default 3600),  // short values let a test make an access token expire
//     idTokenTTL?: seconds (default 3600),
//     autoConsent?: boolean (default true),    // false: a consent page with "Allow" / "Deny" is shown
//     emailInIdToken?: boolean (default true), // false: the ID token carries only `sub` (and the
//                                              // profile/email claims come from the userinfo endpoint)
//   })
//   idp.issuer                       "http://127.0.0.1:<port>" (also the discovery base:
//                                    `${issuer}/.well-known/openid-configuration`)
//   idp.discoveryUrl
//   idp.addAccount({ id, email, email_verified, name?, picture? })
//   idp.loginHttp(authorizeUrl, accountId, { jar?, consent?: "allow" | "deny" }) -> callback URL
//       Drives the authorization request over plain HTTP like a browser would: follows the
//       authorize URL, submits the login form as `accountId`, answers consent, and returns the
//       final redirect to the client's redirect_uri (with code, state and iss), not requested.
//       Pass the same `jar` (new CookieJar() from http-jar.mjs) to keep the IdP session.
//   idp.cancelHttp(authorizeUrl, { jar? }) -> callback URL carrying error=access_denied
//   idp.logoutHttp(endSessionUrl, { jar? }) -> final URL (post_logout_redirect_uri or the
//       provider's "signed out" page), confirming the RP-initiated logout form.
//   idp.stop()
//
// Defaults: accounts `verified` (verified@idp.test, email_verified true) and `unverified`
// (unverified@idp.test, email_verified false); RS256 ID tokens signed with a key made at start;
// refresh tokens are issued on every code exchange (issueRefreshToken returns true), so the
// clients get the refresh_token grant; PKCE (S256) is verified whenever a challenge is sent.
//
// Browser use: the interaction pages are plain HTML. Login page: input `#login` (the account id),
// button `#submit` ("Sign in"), button `#cancel` ("Cancel", aborts with access_denied). Consent page
// (autoConsent false): `#allow` and `#deny`. Logout page: `#logout-yes`.
import http from "node:http";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import Provider from "oidc-provider";
import { CookieJar, close, escapeHtml, follow, formBody, listen, readBody } from "./http-jar.mjs";

const DEFAULT_ACCOUNTS = [
  { id: "verified", email: "verified@idp.test", email_verified: true, name: "Verified Person", picture: "https://idp.test/verified.png" },
  { id: "unverified", email: "unverified@idp.test", email_verified: false, name: "Unverified Person" },
];

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export async function start(options = {}) {
  const accounts = new Map();
  const addAccount = (a) => accounts.set(a.id, { sub: a.sub ?? a.id, ...a });
  for (const a of [...DEFAULT_ACCOUNTS, ...(options.accounts ?? [])]) addAccount(a);

  const server = http.createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;

  // One RSA key per run: ID tokens are RS256 as required by OIDC Core and by most relying parties.
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid: `idp-${randomBytes(4).toString("hex")}`, alg: "RS256", use: "sig" };

  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
      ...c,
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    // Standard claim groups; `email_verified` is what relying parties read to decide on linking.
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "picture"],
    },
    scopes: ["openid", "offline_access", "email", "profile"],
    // false puts the scope claims into the ID token too, as most hosted IdPs do.
    conformIdTokenClaims: options.emailInIdToken === false,
    findAccount: async (_ctx, id) => {
      const a = [...accounts.values()].find((x) => x.id === id || x.sub === id);
      if (!a) return undefined;
      return {
        accountId: a.id,
        claims: async () => ({ sub: a.sub, email: a.email, email_verified: a.email_verified, name: a.name, picture: a.picture }),
      };
    },
    // Every code exchange also yields a refresh token (not only with offline_access), so refresh
    // and /get-access-token paths can be exercised without extra prompts.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    ttl: {
      AccessToken: options.accessTokenTTL ?? 3600,
      IdToken: options.idTokenTTL ?? 3600,
      AuthorizationCode: 600,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page("Sign out", `${form}<button id="logout-yes" type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page("Signed out", "<p id=\"signed-out\">You are signed out.</p>");
        },
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = "html";
      ctx.body = page("Error", `<pre id="error">${escapeHtml(JSON.stringify(out))}</pre>`);
    },
  });
  // Quiet: the provider reports rejected requests (expected in negative tests) on this event.
  provider.on("server_error", (_ctx, err) => console.error("oidc-provider server_error", err));

  const autoConsent = options.autoConsent !== false;
  const oidc = provider.callback();

  async function grantConsent(req, res, details) {
    const { prompt: { details: missing }, params, session: { accountId } } = details;
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(" "));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  }

  const abort = (req, res) => provider.interactionFinished(req, res, { error: "access_denied", error_description: "End-User aborted interaction" }, { mergeWithLastSubmission: false });

  // The interaction routes (login and consent) are ours; everything else is the provider's.
  server.on("request", async (req, res) => {
    const url = new URL(req.url, issuer);
    const m = /^\/interaction\/([^/]+)(?:\/(login|consent|abort))?$/.exec(url.pathname);
    if (!m) return oidc(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      const uid = m[1];
      const action = m[2];
      if (req.method === "GET" && !action) {
        if (details.prompt.name === "consent" && autoConsent) return await grantConsent(req, res, details);
        res.setHeader("content-type", "text/html; charset=utf-8");
        if (details.prompt.name === "login") {
          return res.end(page("Sign in", `<form method="post" action="/interaction/${uid}/login">
<label>Account <input id="login" name="login" autofocus></label>
<button id="submit" type="submit">Sign in</button></form>
<form method="post" action="/interaction/${uid}/abort"><button id="cancel" type="submit">Cancel</button></form>`));
        }
        return res.end(page("Allow access", `<p>${escapeHtml(details.params.client_id)} asks for: ${escapeHtml(details.params.scope ?? "")}</p>
<form method="post" action="/interaction/${uid}/consent"><button id="allow" type="submit">Allow</button></form>
<form method="post" action="/interaction/${uid}/abort"><button id="deny" type="submit">Deny</button></form>`));
      }
      if (req.method !== "POST") { res.statusCode = 405; return res.end(); }
      const body = await readBody(req);
      if (action === "abort") return await abort(req, res);
      if (action === "login") {
        const account = accounts.get(String(body.login ?? ""));
        if (!account) {
          res.statusCode = 200;
          res.setHeader("content-type", "text/html; charset=utf-8");
          return res.end(page("Sign in", `<p id="error">Unknown account</p><form method="post" action="/interaction/${uid}/login"><input id="login" name="login"><button id="submit" type="submit">Sign in</button></form>`));
        }
        return await provider.interactionFinished(req, res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false });
      }
      if (action === "consent") return await grantConsent(req, res, details);
      res.statusCode = 404;
      res.end();
    } catch (err) {
      res.statusCode = 400;
      res.setHeader("content-type", "text/plain");
      res.end(`interaction error: ${err.message}`);
    }
  });

  const leftIssuer = (u) => !u.startsWith(`${issuer}/`);

  async function loginHttp(authorizeUrl, accountId, { jar = new CookieJar(), consent = "allow" } = {}) {
    let r = await follow(jar, authorizeUrl, { stop: leftIssuer });
    for (let step = 0; step < 4 && r.response; step++) {
      const uid = /\/interaction\/([^/?]+)/.exec(r.url)?.[1];
      if (!uid) throw new Error(`unexpected IdP page ${r.url} (${r.response.status}): ${await r.response.text()}`);
      const html = await r.response.text();
      const base = `${issuer}/interaction/${uid}`;
      const next = html.includes(`/interaction/${uid}/login`) ? [`${base}/login`, { login: accountId }]
        : consent === "deny" ? [`${base}/abort`, {}] : [`${base}/consent`, {}];
      r = await follow(jar, next[0], { stop: leftIssuer, init: formBody(next[1]) });
    }
    if (r.response) throw new Error(`IdP did not redirect back: ${r.url} ${r.response.status}`);
    return r.url;
  }

  async function cancelHttp(authorizeUrl, { jar = new CookieJar() } = {}) {
    const r = await follow(jar, authorizeUrl, { stop: leftIssuer });
    if (!r.response) return r.url; // already redirected (e.g. an error for the client)
    const uid = /\/interaction\/([^/?]+)/.exec(r.url)?.[1];
    await r.response.arrayBuffer();
    const done = await follow(jar, `${issuer}/interaction/${uid}/abort`, { stop: leftIssuer, init: formBody({}) });
    return done.url;
  }

  async function logoutHttp(endSessionUrl, { jar = new CookieJar() } = {}) {
    const r = await follow(jar, endSessionUrl, { stop: leftIssuer });
    if (!r.response) return r.url;
    const html = await r.response.text();
    // Our confirmation page when the IdP has a session; oidc-provider's self-submitting form when not.
    const action = /<form[^>]*action="([^"]*\/session\/end\/confirm)"/.exec(html)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    if (!action) return r.url;
    const done = await follow(jar, new URL(action, issuer).toString(), { stop: leftIssuer, init: formBody({ xsrf, logout: "yes" }) });
    return done.url;
  }

  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    provider,
    addAccount,
    loginHttp,
    cancelHttp,
    logoutHttp,
    stop: () => close(server),
  };
}
