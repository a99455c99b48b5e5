// The seed's own table and column names, expressed once for better-auth (its `modelName`,
// `fields` and `additionalFields` options) and once for authkeep (its TOML file), so both
// servers can be pointed at the same mapped database.
//
// Two ways to say it:
//  - "seed": every renamed column listed (better-auth `fields`, authkeep `[<model>.fields]`);
//    the columns not listed keep better-auth's camelCase names (accounts."accessToken").
//  - "seed-casing": docs/configuration.md's example, authkeep `casing = "snake_case"` with only
//    the names casing cannot produce; on better-auth's side that is Kysely's CamelCasePlugin,
//    which snake_cases every column (including accounts.access_token and the jwks columns).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { CamelCasePlugin, Kysely, PostgresDialect, SqliteDialect } from "kysely";
import { getMigrations } from "better-auth/db/migration";
import { bearer } from "better-auth/plugins/bearer";
import { jwt } from "better-auth/plugins/jwt";
import { SECRET, authkeepBinary } from "./servers.mjs";

// status: string, optional, "active" on sign-up, never set by clients.
const status = { type: "string", required: false, defaultValue: "active", input: false };
const statusToml = `[user.additional_fields.status]
type = "string"
required = false
default_value = "active"
input = false
`;

export const variants = {
  // better-auth's own names: no renaming on either side.
  "better-auth": { camelCasePlugin: false, options: {}, toml: "" },
  seed: {
    camelCasePlugin: false,
    options: {
      user: {
        modelName: "users",
        fields: { emailVerified: "email_verified", createdAt: "created_at", updatedAt: "updated_at" },
        additionalFields: { status },
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
    },
    // casing stays camelCase: better-auth's options above rename only the listed fields, so
    // the unlisted ones must keep their camelCase names on both sides.
    toml: `
[database]
casing = "camelCase"

[user]
model_name = "users"
[user.fields]
emailVerified = "email_verified"
createdAt = "created_at"
updatedAt = "updated_at"
${statusToml}
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
`,
  },
  "seed-casing": {
    camelCasePlugin: true,
    options: {
      user: { modelName: "users", additionalFields: { status } },
      session: { modelName: "user_sessions" },
      account: { modelName: "accounts", fields: { password: "password_hash" } },
      verification: { modelName: "verifications" },
    },
    toml: `
[database]
casing = "snake_case"

[user]
model_name = "users"
${statusToml}
[session]
model_name = "user_sessions"

[account]
model_name = "accounts"
[account.fields]
password = "password_hash"

[verification]
model_name = "verifications"
`,
  },
};

/**
 * better-auth's `database` option for a pg Pool or a better-sqlite3 connection: the connection
 * itself, or, for a variant with casing, a Kysely instance with CamelCasePlugin over it.
 */
export function betterAuthDatabase(connection, variant) {
  if (!variants[variant].camelCasePlugin) return connection;
  const isPg = connection instanceof pg.Pool;
  const dialect = isPg ? new PostgresDialect({ pool: connection }) : new SqliteDialect({ database: connection });
  return { db: new Kysely({ dialect, plugins: [new CamelCasePlugin()] }), type: isPg ? "postgres" : "sqlite" };
}

/** Writes a variant's TOML to a temporary file; `drop()` removes it. */
export function seedConfigFile(variant = "seed") {
  const dir = mkdtempSync(path.join(tmpdir(), "authkeep-seed-config-"));
  const file = path.join(dir, "authkeep.toml");
  writeFileSync(file, variants[variant].toml);
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

/** better-auth's options for a variant on `databaseUrl`, as the reference server builds them; `close()` releases the connection. */
async function seedOptions(databaseUrl, variant) {
  let connection;
  if (databaseUrl.startsWith("sqlite://")) {
    const Database = (await import("better-sqlite3")).default;
    connection = new Database(databaseUrl.slice("sqlite://".length));
  } else {
    connection = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  }
  const database = betterAuthDatabase(connection, variant);
  return {
    options: { database, secret: SECRET, emailAndPassword: { enabled: true }, plugins: [bearer(), jwt()], ...variants[variant].options },
    // Kysely's destroy() ends the pool or closes the SQLite connection it wraps.
    close: async () => (database.db ? database.db.destroy() : connection instanceof pg.Pool ? connection.end() : connection.close()),
  };
}

/** better-auth's migration plan (getMigrations) for a variant on `databaseUrl`, with its SQL. */
export async function betterAuthPlan(databaseUrl, variant = "seed") {
  const { options, close } = await seedOptions(databaseUrl, variant);
  try {
    const { compileMigrations, runMigrations: _, ...plan } = await getMigrations(options);
    return { ...plan, sql: await compileMigrations() };
  } finally {
    await close();
  }
}

/** better-auth's migrator for a variant, run to completion on `databaseUrl`. */
export async function betterAuthMigrate(databaseUrl, variant = "seed") {
  const { options, close } = await seedOptions(databaseUrl, variant);
  try {
    await (await getMigrations(options)).runMigrations();
  } finally {
    await close();
  }
}
