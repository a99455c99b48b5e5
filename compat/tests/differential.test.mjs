// Every scenario runs against authkeep (SQLite and PostgreSQL) and against a real better-auth
// 1.7.25 server; the normalised exchanges must be identical.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { normalizeTranscript } from "../harness/browser.mjs";
import { createPgDatabase, sqliteFile, startAuthkeep, startBetterAuth } from "../harness/servers.mjs";
import { scenarios } from "./scenarios.mjs";

describe("authkeep answers better-auth's client exactly as better-auth does", () => {
  const dbs = [];
  let reference, akPostgres, akSqlite;

  before(async () => {
    const [refDb, akPgDb, akLiteDb] = [await createPgDatabase(), await createPgDatabase(), sqliteFile()];
    dbs.push(refDb, akPgDb, akLiteDb);
    [reference, akPostgres, akSqlite] = await Promise.all([
      startBetterAuth({ databaseUrl: refDb.url }),
      startAuthkeep({ databaseUrl: akPgDb.url }),
      startAuthkeep({ databaseUrl: akLiteDb.url }),
    ]);
  });

  after(async () => {
    await Promise.all([reference, akPostgres, akSqlite].filter(Boolean).map((s) => s.stop()));
    await Promise.all(dbs.map((d) => d.drop()));
  });

  for (const scenario of scenarios) {
    test(scenario.name, async () => {
      const expected = normalizeTranscript(await scenario.run(reference));
      for (const server of [akPostgres, akSqlite]) {
        const got = normalizeTranscript(await scenario.run(server));
        assert.equal(got.length, expected.length, `${server.label}: number of requests`);
        got.forEach((entry, i) => assert.deepEqual(entry, expected[i], `${server.label}: exchange ${i} (${entry.request})`));
      }
    });
  }
});
