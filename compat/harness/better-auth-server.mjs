// A real better-auth server, configured like authkeep's defaults (bearer and jwt plugins on), for differential tests.
// Env: PORT, DATABASE_URL (PostgreSQL) or SQLITE_PATH, BETTER_AUTH_SECRET, TRUSTED_ORIGINS (comma list), SMTP_PORT,
// SCHEMA=seed or seed-casing (the seed's table and column names, harness/seed-schema.mjs), SKIP_MIGRATIONS=1.
import http from "node:http";
import pg from "pg";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";
import { bearer } from "better-auth/plugins/bearer";
import { jwt } from "better-auth/plugins/jwt";
import { magicLink } from "better-auth/plugins/magic-link";
import { emailOTP } from "better-auth/plugins/email-otp";
import nodemailer from "nodemailer";
import { betterAuthDatabase, variants } from "./seed-schema.mjs";

const port = Number(process.env.PORT);
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
const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET,
  // PostgreSQL, or a SQLite file (SQLITE_PATH) for the shared-file test.
  database: variant ? betterAuthDatabase(connection, variant) : connection,
  emailAndPassword: { enabled: true },
  ...emailOptions,
  ...schema,
  user: { ...(emailOptions.user ?? { deleteUser: { enabled: true } }), ...schema.user },
  trustedOrigins: (process.env.TRUSTED_ORIGINS ?? "").split(",").filter(Boolean),
  plugins: [bearer(), jwt(), ...(smtpPort
    ? [
        magicLink({ sendMagicLink: async ({ email, url }) => mail(email, "Sign in", url) }),
        emailOTP({ sendVerificationOTP: async ({ email, otp }) => mail(email, `Your code ${otp}`, otp) }),
      ]
    : [])],
  rateLimit: { enabled: false },
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
const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
    return;
  }
  handler(req, res);
});
server.listen(port, "127.0.0.1", () => console.error(`better-auth listening addr=127.0.0.1:${port}`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.close(() => process.exit(0)));
