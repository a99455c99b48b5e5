// `authkeep schema --format prisma`: the schema it prints is valid for Prisma's own validator
// (prisma-schema-wasm, the engine `prisma validate` and `prisma format` run, without
// downloading engines), is already in `prisma format`'s layout, and maps every model and
// field to the real table and column names, on PostgreSQL and SQLite, with better-auth's names
// and with the deployment's own (renamed tables and columns, additional fields, rateLimit).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import wasm from "@prisma/prisma-schema-wasm";

// As harness/servers.mjs finds it (not imported: this test needs no database driver).
const authkeepBinary = () =>
  process.env.AUTHKEEP_BIN ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "target", "debug", "authkeep");

const CUSTOM = `
[database]
casing = "snake_case"

[rate_limit]
storage = "database"

[user]
model_name = "users"

[user.fields]
emailVerified = "is_verified"

[two_factor]
enabled = true
model_name = "two_factors"

[session]
model_name = "user_sessions"

[session.fields]
userId = "owner_id"

[user.additional_fields.favoriteColor]
type = "string"
required = false
default_value = "blue"

[user.additional_fields.loginCount]
type = "number"
required = false

[user.additional_fields.isAdmin]
type = "boolean"
required = false

[user.additional_fields.birthDate]
type = "date"
required = false

[user.additional_fields.tags]
type = "string[]"
required = false
`;

function prismaSchema(dialect, toml) {
  const dir = mkdtempSync(path.join(tmpdir(), "authkeep-prisma-"));
  try {
    const env = { PATH: process.env.PATH, RUST_LOG: "warn" };
    if (toml) {
      env.AUTHKEEP_CONFIG = path.join(dir, "authkeep.toml");
      writeFileSync(env.AUTHKEEP_CONFIG, toml);
    }
    const out = spawnSync(authkeepBinary(), ["schema", "--format", "prisma", "--dialect", dialect], { env, encoding: "utf8", timeout: 30_000 });
    assert.equal(out.status, 0, out.stdout + out.stderr);
    return out.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const files = (schema) => [["schema.prisma", schema]];
const validate = (schema) => wasm.validate(JSON.stringify({ prismaSchema: files(schema), noColor: true }));
const dmmf = (schema) => JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: files(schema), noColor: true }))).datamodel;
const formatted = (schema) =>
  JSON.parse(wasm.format(JSON.stringify(files(schema)), JSON.stringify({ textDocument: { uri: "file:/schema.prisma" }, options: { tabSize: 2, insertSpaces: true } })))[0][1];

for (const dialect of ["postgresql", "sqlite"]) {
  test(`${dialect}: better-auth's names validate, lint clean and are formatted`, () => {
    const schema = prismaSchema(dialect);
    validate(schema);
    assert.deepEqual(JSON.parse(wasm.lint(JSON.stringify(files(schema)))), []);
    assert.equal(formatted(schema), schema);
    const model = dmmf(schema).models.find((m) => m.name === "Session");
    assert.equal(model.dbName, "session");
    assert.equal(model.fields.find((f) => f.name === "user").relationOnDelete, "Cascade");
    // A broken schema is refused: the validator is really checking.
    assert.throws(() => validate(schema.replace("onDelete: Cascade", "onDelete: Explode")));
  });

  test(`${dialect}: the deployment's names are mapped`, () => {
    const schema = prismaSchema(dialect, CUSTOM);
    validate(schema);
    assert.equal(formatted(schema), schema);
    const model = dmmf(schema);
    const byName = Object.fromEntries(model.models.map((m) => [m.name, m]));
    assert.equal(byName.User.dbName, "users");
    assert.equal(byName.Session.dbName, "user_sessions");
    assert.equal(byName.RateLimit.dbName, "rateLimit");
    const field = (m, name) => byName[m].fields.find((f) => f.name === name);
    assert.equal(field("User", "emailVerified").dbName, "is_verified");
    assert.equal(field("User", "favoriteColor").dbName, "favorite_color");
    assert.equal(field("User", "favoriteColor").isRequired, false);
    assert.equal(field("Session", "userId").dbName, "owner_id");
    assert.equal(field("Account", "accessTokenExpiresAt").dbName, "access_token_expires_at");
    assert.equal(field("RateLimit", "lastRequest").type, "BigInt");
    assert.equal(field("User", "tags").type, dialect === "postgresql" ? "Json" : "String");
    const index = model.indexes.find((i) => i.model === "Session" && i.type === "normal");
    assert.equal(index.dbName, "user_sessions_owner_id_idx");
    if (dialect === "postgresql") {
      assert.deepEqual(field("Session", "expiresAt").nativeType, ["Timestamptz", []]);
    }
  });
}
