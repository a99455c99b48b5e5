// A real better-auth server, configured like authkeep's defaults (bearer and jwt plugins on), for differential tests.
// Env: PORT, DATABASE_URL (PostgreSQL) or SQLITE_PATH, BETTER_AUTH_SECRET, TRUSTED_ORIGINS (comma list), SMTP_PORT,
// SCHEMA=seed or seed-casing (the seed's table and column names, harness/seed-schema.mjs), SKIP_MIGRATIONS=1,
// SOCIAL (social sign-in, JSON):
//   { "socialProviders": { "google": {clientId, clientSecret, ...}, "github": {...} },  // better-auth's options as they are
//     "genericOAuth": [{ providerId, discoveryUrl, clientId, clientSecret, scopes, pkce, ... }],  // genericOAuth({config})
//     "account": { "accountLinking": {...}, "encryptOAuthTokens": true, ... },  // merged into options.account
//     "redirects": { "accounts.google.com": "http://127.0.0.1:<port>", ... } }   // see fetch-redirect.mjs
// With SOCIAL set, GET /app is a small page with one "Sign in with <id>" button per provider (it does
// what better-auth's client does: POST /sign-in/social, then navigate to the returned url), and GET
// /app/done shows the session as JSON, for browser tests.
// Production features (harness/production-options.mjs; all optional, unset = as before):
//   RATE_LIMIT_ENABLED=true|false|default (unset: false; "default": better-auth decides, i.e. on iff
//     NODE_ENV=production), RATE_LIMIT_WINDOW (s), RATE_LIMIT_MAX, RATE_LIMIT_STORAGE=memory|database|
//     secondary-storage, RATE_LIMIT_CUSTOM_RULES (JSON {"/path" or "/pattern*": {"window":s,"max":n} | false})
//   COOKIE_CACHE_ENABLED=true|false, COOKIE_CACHE_MAX_AGE (s), COOKIE_CACHE_STRATEGY=compact|jwt|jwe,
//     COOKIE_CACHE_VERSION (setting any COOKIE_CACHE_* turns session.cookieCache on unless ENABLED=false)
//   SESSION_EXPIRES_IN, SESSION_UPDATE_AGE, SESSION_FRESH_AGE (s) -> session.expiresIn/updateAge/freshAge
//   DEFAULT_COOKIE_ATTRIBUTES (JSON, e.g. {"sameSite":"none","secure":true,"partitioned":true}),
//   CROSS_SUBDOMAIN_COOKIES (JSON {"enabled":true,"domain":"example.test"}), USE_SECURE_COOKIES=true|false
//   IP_ADDRESS_HEADERS (comma list), TRUSTED_PROXIES (comma list of IPs/CIDRs), DISABLE_IP_TRACKING=true,
//     IPV6_SUBNET -> advanced.ipAddress
//   REDIS_URL (e.g. redis://127.0.0.1:6379) turns on secondaryStorage = redisStorage({client: new
//     Redis(REDIS_URL), keyPrefix: REDIS_KEY_PREFIX ?? "better-auth:"}); REDIS_MAX_RETRIES sets ioredis's
//     maxRetriesPerRequest (default 20); STORE_SESSION_IN_DATABASE=true|false -> session.storeSessionInDatabase;
//     VERIFICATION_STORE_IN_DATABASE=true|false -> verification.storeInDatabase
//   NODE_ENV is passed through by servers.mjs only when the caller sets it in `env`.
// TWO_FACTOR=1 (TWO_FACTOR_ISSUER, TWO_FACTOR_OTP_SMTP_PORT): better-auth's two-factor plugin (harness/two-factor.mjs).
// ADMIN=1 adds the admin plugin (admin(ADMIN_OPTIONS), ADMIN_OPTIONS optional JSON of its options).
import http from "node:http";
import pg from "pg";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";
import { bearer } from "better-auth/plugins/bearer";
import { jwt } from "better-auth/plugins/jwt";
import { magicLink } from "better-auth/plugins/magic-link";
import { emailOTP } from "better-auth/plugins/email-otp";
import { genericOAuth } from "better-auth/plugins/generic-oauth";
import { admin } from "better-auth/plugins/admin";
import { installFetchRedirect } from "./fetch-redirect.mjs";
import nodemailer from "nodemailer";
import { betterAuthDatabase, variants } from "./seed-schema.mjs";
import { productionOptions } from "./production-options.mjs";
import { twoFactorPlugins } from "./two-factor.mjs";

const port = Number(process.env.PORT);
const social = process.env.SOCIAL ? JSON.parse(process.env.SOCIAL) : null;
// Google's and GitHub's endpoints are fixed in better-auth: point its outgoing fetches at the stand-ins.
installFetchRedirect(social?.redirects);
// With SMTP_PORT set, email flows are on and mail goes to that SMTP server (the tests' mailbox).
const smtpPort = process.env.SMTP_PORT ? Number(process.env.SMTP_PORT) : null;
const transport = smtpPort ? nodemailer.createTransport({ host: "127.0.0.1", port: smtpPort, secure: false, ignoreTLS: true }) : null;
const mail = (to, subject, url) => transport.sendMail({ from: "Acme <no-reply@acme.test>", to, subject, text: `${subject}\n\n${url}\n` });
const emailOptions = smtpPort
  ? {
      emailAndPassword: {
        enabled: true,
        requireEmailVerification: true,
        sendResetPassword: async ({ user, url }) => mail(user.email, "Reset your password", url),
      },
      user: {
        deleteUser: { enabled: true, sendDeleteAccountVerification: async ({ user, url }) => mail(user.email, "Delete your account", url) },
        changeEmail: { enabled: true },
      },
      emailVerification: {
        sendOnSignUp: true,
        autoSignInAfterVerification: true,
        sendVerificationEmail: async ({ user, url }) => mail(user.email, "Verify your email", url),
      },
    }
  : {};
// modelName/fields/additionalFields for user, session, account and verification, or none.
const variant = process.env.SCHEMA;
const schema = variant ? variants[variant].options : {};
const connection = process.env.SQLITE_PATH
  ? new (await import("better-sqlite3")).default(process.env.SQLITE_PATH)
  : new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const baseURL = `http://127.0.0.1:${port}`;
const prod = productionOptions(process.env);
const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET,
  // PostgreSQL, or a SQLite file (SQLITE_PATH) for the shared-file test.
  database: variant ? betterAuthDatabase(connection, variant) : connection,
  emailAndPassword: { enabled: true },
  ...emailOptions,
  ...schema,
  user: { ...(emailOptions.user ?? { deleteUser: { enabled: true } }), ...schema.user },
  session: { ...schema.session, ...prod.session },
  verification: { ...schema.verification, ...prod.verification },
  advanced: { ...schema.advanced, ...prod.advanced },
  ...(prod.secondaryStorage ? { secondaryStorage: prod.secondaryStorage } : {}),
  ...(social ? { socialProviders: social.socialProviders ?? {}, account: { ...schema.account, ...social.account } } : {}),
  trustedOrigins: (process.env.TRUSTED_ORIGINS ?? "").split(",").filter(Boolean),
  plugins: [bearer(), jwt(), ...(smtpPort
    ? [
        magicLink({ sendMagicLink: async ({ email, url }) => mail(email, "Sign in", url) }),
        emailOTP({ sendVerificationOTP: async ({ email, otp }) => mail(email, `Your code ${otp}`, otp) }),
      ]
    : []), ...(social?.genericOAuth?.length ? [genericOAuth({ config: social.genericOAuth })] : []),
    ...twoFactorPlugins(process.env),
    ...(process.env.ADMIN === "1" ? [admin(process.env.ADMIN_OPTIONS ? JSON.parse(process.env.ADMIN_OPTIONS) : {})] : [])],
  rateLimit: prod.rateLimit,
  telemetry: { enabled: false },
});

// SKIP_MIGRATIONS: a schema someone else created is used as it is. (With CamelCasePlugin,
// better-auth 1.7.25's migrator does not recognise the snake_case columns it created itself and
// tries to add them again, so a second start with migrations would fail.)
if (process.env.SKIP_MIGRATIONS !== "1") {
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();
}

const handler = toNodeHandler(auth);

function appPage(done) {
  const ids = [...Object.keys(social.socialProviders ?? {}), ...(social.genericOAuth ?? []).map((c) => c.providerId)];
  const script = done
    ? `fetch("/api/auth/get-session").then((r) => r.json()).then((s) => { document.getElementById("session").textContent = JSON.stringify(s); });`
    : `for (const b of document.querySelectorAll("button[data-provider]")) b.onclick = async () => {
  const r = await fetch("/api/auth/sign-in/social", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ provider: b.dataset.provider, callbackURL: "/app/done", errorCallbackURL: "/app/done" }) });
  const data = await r.json();
  if (data.url && data.redirect) window.location.href = data.url;
};`;
  const body = done
    ? `<pre id="session"></pre>`
    : ids.map((id) => `<button data-provider="${id}" id="sign-in-${id}">Sign in with ${id}</button>`).join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>app</title></head><body>${body}<script>${script}</script></body></html>`;
}
const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
    return;
  }
  if (social && (req.url === "/app" || req.url.startsWith("/app/done"))) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(appPage(req.url.startsWith("/app/done")));
    return;
  }
  handler(req, res);
});
server.listen(port, "127.0.0.1", () => console.error(`better-auth listening addr=127.0.0.1:${port}`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => { prod.redis?.disconnect(); process.exit(0); }));
