import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb } from "../src/store/db.js";
import * as postgresSchema from "../src/store/postgres-schema.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";

/**
 * There is one schema (SQLite's, in the schema files) and PostgreSQL's is
 * its mirror: the committed migrations of both must build the same tables,
 * columns and indexes, so a change generated for one database and not the
 * other fails here.
 */
/**
 * SQLite's own bookkeeping, with no copy on PostgreSQL: `key_changes` counts changes to api_keys for a
 * server on one SQLite file (see KeyStore); a cluster's nodes learn of them by notification instead, and
 * their replicas, which are SQLite, count them there.
 */
const SQLITE_ONLY = new Set(["key_changes"]);

describe("the PostgreSQL schema", () => {
  let cluster: PostgresCluster;
  let client: pg.Client;
  const dir = mkdtempSync(join(tmpdir(), "switchboard-schema-"));

  beforeAll(async () => {
    cluster = await startPostgres();
    client = new pg.Client({ connectionString: await cluster.createDatabase() });
    await client.connect();
    await migrate(drizzle(client), { migrationsFolder: resolve("drizzle/postgres") });
  });

  afterAll(async () => {
    await client?.end();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Table → its columns and index names, as SQLite's migrations build them. */
  function sqliteShape(): Map<string, { columns: string[]; indexes: string[] }> {
    const sqlite = openDb(join(dir, "shape.db")).$client;
    try {
      const tables = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' ORDER BY name")
        .pluck()
        .all()
        .filter((t) => !SQLITE_ONLY.has(t as string)) as string[];
      return new Map(
        tables.map((t) => [
          t,
          {
            columns: (sqlite.prepare(`PRAGMA table_info("${t}")`).all() as { name: string }[]).map((c) => c.name).sort(),
            indexes: (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").pluck().all(t) as string[]).sort(),
          },
        ]),
      );
    } finally {
      sqlite.close();
    }
  }

  it("has every table, column and index SQLite's migrations make", async () => {
    const expected = sqliteShape();
    const tables = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual([...expected.keys()]);
    for (const [table, shape] of expected) {
      const columns = await client.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY column_name",
        [table],
      );
      expect(columns.rows.map((r) => r.column_name), table).toEqual(shape.columns);
      // Primary keys aside: PostgreSQL backs them with an index of its own naming, SQLite's are implicit.
      const indexes = await client.query<{ name: string }>(
        `SELECT ix.relname AS name FROM pg_index i JOIN pg_class ix ON ix.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
         WHERE t.relname = $1 AND NOT i.indisprimary ORDER BY ix.relname`,
        [table],
      );
      expect(indexes.rows.map((r) => r.name), table).toEqual(shape.indexes);
    }
  });

  it("is what drizzle-kit sees: every mirrored table is exported by name", () => {
    const exported = new Set(Object.values(postgresSchema).filter((v) => v !== postgresSchema.postgresTables));
    for (const table of postgresSchema.postgresTables.values()) expect(exported.has(table)).toBe(true);
  });

  it("hands out log ids itself, as SQLite's autoincrement does", async () => {
    const identity = await client.query<{ is_identity: string }>(
      "SELECT is_identity FROM information_schema.columns WHERE table_name = 'events' AND column_name = 'id'",
    );
    expect(identity.rows[0].is_identity).toBe("YES");
  });
});
