// Social sign-in stack for tests: the OIDC IdP (oidc-idp.mjs), the Google and GitHub stand-ins,
// and a real better-auth 1.7.25 configured for all three (google, github, and the generic-oauth
// provider "idp"), plus a helper that walks one sign-in over HTTP.
//
// API
//   const stack = await startSocialStack({
//     databaseUrl,                         // PostgreSQL URL (or env.SQLITE_PATH)
//     extraOrigins?,                       // more relying-party origins whose callbacks the providers
//                                          // accept (an authkeep, an app that proxies to one)
//     account?,                            // better-auth `account` options (accountLinking, encryptOAuthTokens, ...)
//     google?: { options?, standin? },     // extra socialProviders.google options / google-standin start() options
//     github?: { options?, standin? },
//     idp?: { options?, standin? },        // extra genericOAuth config / oidc-idp start() options
//     env?,                                // more variables for better-auth-server.mjs
//   })
//   stack.server (startBetterAuth's handle: origin, baseURL, stop, log), stack.idp, stack.google,
//   stack.github, stack.hosts (real host -> stand-in origin), stack.social (the SOCIAL JSON sent),
//   stack.login(provider, authorizeUrl, who?, { jar? }) -> callback URL (who defaults to a verified
//     user; `jar`, a CookieJar, keeps the provider's own session, e.g. for the IdP's logout)
//   stack.cancel(provider, authorizeUrl) -> callback URL with error=access_denied
//   stack.stop()
//   authkeepSocialToml(stack, { account?, accountLinking?, google?, github?, idp? }) -> the same
//     three providers as authkeep.toml text (endpoints pointed at the stand-ins); the optional
//     objects add keys (snake_case, as in authkeep.toml) to [account], [account_linking],
//     [social_providers.google], [social_providers.github] and the [[generic_oauth]] "idp".
//   signInSocial(browser, stack, provider, { body?, who?, cancel?, jar? })
//     -> { start: {status, headers, body}, authorizeUrl, callbackUrl, callback: Response }
//     `browser` is a harness/browser.mjs Browser on stack.server (it keeps better-auth's cookies).
import { start as startIdp } from "./oidc-idp.mjs";
import { start as startGoogle } from "./google-standin.mjs";
import { start as startGithub } from "./github-standin.mjs";
import { freePort, startBetterAuth } from "./servers.mjs";

export const CLIENTS = {
  idp: { clientId: "authkeep-idp-client", clientSecret: "idp-client-secret-0123456789" },
  google: { clientId: "1234567890-authkeep.apps.googleusercontent.test", clientSecret: "GOCSPX-google-client-secret" },
  github: { clientId: "Iv1.authkeepgithub01", clientSecret: "github-client-secret-0123456789abcdef0123" },
};

export const DEFAULT_WHO = { idp: "verified", google: "100000000000000000001", github: "octo-public" };

export async function startSocialStack({ databaseUrl, extraOrigins = [], account = {}, google = {}, github = {}, idp = {}, env = {} } = {}) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const baseURL = `${origin}/api/auth`;
  const origins = [origin, ...extraOrigins];
  // Every relying party's callback is registered (the first is better-auth's own).
  const cbs = (id) => origins.map((o) => `${o}/api/auth/callback/${id}`);
  const started = [];
  try {
    const theIdp = await startIdp({
      clients: [{
        client_id: CLIENTS.idp.clientId, client_secret: CLIENTS.idp.clientSecret, redirect_uris: cbs("idp"),
        post_logout_redirect_uris: origins.flatMap((o) => [`${o}/app/done`, `${o}/`, `${o}/bye`]),
      }],
      ...idp.standin,
    });
    started.push(theIdp);
    const theGoogle = await startGoogle({ clients: [{ client_id: CLIENTS.google.clientId, client_secret: CLIENTS.google.clientSecret, redirect_uris: cbs("google") }], ...google.standin });
    started.push(theGoogle);
    const theGithub = await startGithub({ clients: [{ client_id: CLIENTS.github.clientId, client_secret: CLIENTS.github.clientSecret, redirect_uris: cbs("github") }], ...github.standin });
    started.push(theGithub);
    const hosts = { ...theGoogle.hosts, ...theGithub.hosts };
    const social = {
      socialProviders: {
        google: { ...CLIENTS.google, ...google.options },
        github: { ...CLIENTS.github, ...github.options },
      },
      genericOAuth: [{
        providerId: "idp", discoveryUrl: theIdp.discoveryUrl, ...CLIENTS.idp,
        scopes: ["openid", "email", "profile", "offline_access"], pkce: true, ...idp.options,
      }],
      account,
      redirects: hosts,
    };
    const server = await startBetterAuth({ databaseUrl, port, env: { ...env, SOCIAL: JSON.stringify(social) } });
    started.push(server);
    const byId = { idp: theIdp, google: theGoogle, github: theGithub };
    return {
      server, idp: theIdp, google: theGoogle, github: theGithub, hosts, social,
      login: (provider, url, who = DEFAULT_WHO[provider], opts = {}) => byId[provider].loginHttp(url, who, opts),
      cancel: (provider, url) => byId[provider].cancelHttp(url),
      stop: async () => { for (const s of started.reverse()) await s.stop(); },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop();
    throw err;
  }
}

export async function signInSocial(browser, stack, provider, { body = {}, who, cancel = false, jar } = {}) {
  const res = await browser.fetch(`${stack.server.baseURL}/sign-in/social`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ provider, ...body }),
  });
  const startBody = await res.json();
  const start = { status: res.status, headers: Object.fromEntries(res.headers), setCookies: res.headers.getSetCookie(), body: startBody };
  if (!startBody.url) return { start };
  const callbackUrl = cancel ? await stack.cancel(provider, startBody.url) : await stack.login(provider, startBody.url, who, { jar });
  const callback = await browser.fetch(callbackUrl);
  return { start, authorizeUrl: startBody.url, callbackUrl, callback };
}

/** TOML for authkeep's [social_providers], [[generic_oauth]], [account] and [account_linking]. */
export function authkeepSocialToml(stack, { account = {}, accountLinking = {}, google = {}, github = {}, idp = {} } = {}) {
  const value = (v) => (Array.isArray(v) ? `[${v.map(value).join(", ")}]` : typeof v === "string" ? JSON.stringify(v) : String(v));
  const table = (name, keys) => [`[${name}]`, ...Object.entries(keys).map(([k, v]) => `${k} = ${value(v)}`)].join("\n");
  return [
    table("account", account),
    table("account_linking", accountLinking),
    table("social_providers.google", {
      client_id: CLIENTS.google.clientId,
      client_secret: CLIENTS.google.clientSecret,
      authorization_url: `${stack.google.origin}/o/oauth2/v2/auth`,
      token_url: `${stack.google.origin}/token`,
      jwks_url: `${stack.google.origin}/oauth2/v3/certs`,
      ...google,
    }),
    table("social_providers.github", {
      client_id: CLIENTS.github.clientId,
      client_secret: CLIENTS.github.clientSecret,
      authorization_url: `${stack.github.origin}/login/oauth/authorize`,
      token_url: `${stack.github.origin}/login/oauth/access_token`,
      api_url: stack.github.origin,
      ...github,
    }),
    table("[generic_oauth]", {
      provider_id: "idp",
      client_id: CLIENTS.idp.clientId,
      client_secret: CLIENTS.idp.clientSecret,
      discovery_url: stack.idp.discoveryUrl,
      scopes: ["openid", "email", "profile", "offline_access"],
      pkce: true,
      ...idp,
    }),
  ].join("\n\n") + "\n";
}
