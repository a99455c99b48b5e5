// The seed's own table and column names, expressed once for better-auth (its `modelName`,
// `fields` and `additionalFields` options) and once for authkeep (its TOML file), so both
// servers can be pointed at the same mapped database.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { getMigrations } from "better-auth/db/migration";
import { bearer } from "better-auth/plugins/bearer";
import { jwt } from "better-auth/plugins/jwt";
import { SECRET, authkeepBinary } from "./servers.mjs";

/** better-auth's options for the seed's names (merged into the reference server's options). */
export const seedSchema = {
  user: {
    modelName: "users",
    fields: { emailVerified: "email_verified", createdAt: "created_at", updatedAt: "updated_at" },
    additionalFields: {
      status: { type: "string", required: false, defaultValue: "active", input: false },
    },
  },
  session: {
    modelName: "user_sessions",
    fields: {
      userId: "user_id",
      expiresAt: "expires_at",
      ipAddress: "ip_address",
      userAgent: "user_agent",
      createdAt: "created_at",
      updatedAt: "updated_at",
    },
  },
  account: {
    modelName: "accounts",
    fields: { password: "password_hash", userId: "user_id", accountId: "account_id", providerId: "provider_id" },
  },
  verification: { modelName: "verifications" },
};

// The same mapping for authkeep. Every column is named explicitly and `casing` stays at its
// default (camelCase): better-auth's options above rename only the listed fields, so the
// unlisted ones (accounts."accessToken", verifications."expiresAt", the jwks columns) must
// stay camelCase on both sides for the two servers to share one database.
export const seedSchemaToml = `
[database]
casing = "camelCase"

[user]
model_name = "users"
[user.fields]
emailVerified = "email_verified"
createdAt = "created_at"
updatedAt = "updated_at"
[user.additional_fields.status]
type = "string"
required = false
default_value = "active"
input = false

[session]
model_name = "user_sessions"
[session.fields]
userId = "user_id"
expiresAt = "expires_at"
ipAddress = "ip_address"
userAgent = "user_agent"
createdAt = "created_at"
updatedAt = "updated_at"

[account]
model_name = "accounts"
[account.fields]
password = "password_hash"
userId = "user_id"
accountId = "account_id"
providerId = "provider_id"

[verification]
model_name = "verifications"
`;

/** Writes the TOML above to a temporary file; `drop()` removes it. */
export function seedConfigFile() {
  const dir = mkdtempSync(path.join(tmpdir(), "authkeep-seed-config-"));
  const file = path.join(dir, "authkeep.toml");
  writeFileSync(file, seedSchemaToml);
  return { path: file, drop: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `authkeep migrate [--status] --config FILE --database-url URL`; resolves to its exit code and output. */
export function authkeepMigrate({ config, databaseUrl, status = false }) {
  const args = ["migrate", "--config", config, "--database-url", databaseUrl, ...(status ? ["--status"] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(authkeepBinary(), args, {
      env: { PATH: process.env.PATH, BETTER_AUTH_SECRET: SECRET, RUST_LOG: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => { stdout += c; });
    child.stderr.on("data", (c) => { stderr += c; });
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`authkeep ${args.join(" ")} timed out:\n${stdout}${stderr}`)); }, 60_000);
    child.on("error", reject);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/**
 * A database handle for better-auth, as the reference server opens it: a pg Pool for
 * PostgreSQL or a better-sqlite3 connection for a SQLite file. `close()` releases it.
 */
export async function openForBetterAuth(databaseUrl) {
  if (databaseUrl.startsWith("sqlite://")) {
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(databaseUrl.slice("sqlite://".length));
    return { database: db, close: async () => db.close() };
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  return { database: pool, close: () => pool.end() };
}

/** better-auth's options for `database` with the seed's names and the reference server's plugins. */
function seedOptions(database) {
  return { database, secret: SECRET, emailAndPassword: { enabled: true }, plugins: [bearer(), jwt()], ...seedSchema };
}

/** better-auth's migration plan (getMigrations) for the seed's names on `databaseUrl`, with its SQL. */
export async function betterAuthPlan(databaseUrl) {
  const handle = await openForBetterAuth(databaseUrl);
  try {
    const { compileMigrations, runMigrations: _, ...plan } = await getMigrations(seedOptions(handle.database));
    return { ...plan, sql: await compileMigrations() };
  } finally {
    await handle.close();
  }
}

/** better-auth's migrator with the seed's names, run to completion on `databaseUrl`. */
export async function betterAuthMigrate(databaseUrl) {
  const handle = await openForBetterAuth(databaseUrl);
  try {
    await (await getMigrations(seedOptions(handle.database))).runMigrations();
  } finally {
    await handle.close();
  }
}
