import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { vi } from "vitest";
import { isPostgresUrl } from "../../src/config.js";
import { runCliOn } from "../../src/cli.js";
import { PostgresPruner } from "../../src/store/postgres-pruner.js";
import { SqlitePruner, type Pruner } from "../../src/store/retention.js";

/**
 * What a test knows of its server's database: a SQLite file beside it, or
 * the PostgreSQL URL in its configuration. Each helper here also takes the
 * DATABASE_URL itself, for a server run as a child process.
 */
export interface ServerDb {
  dbPath: string;
  config?: { DATABASE_URL: string };
}

/** The server's database as an operator names it (its DATABASE_URL): the PostgreSQL URL, or the SQLite file's path. */
export function databaseOf(server: ServerDb | string): string {
  return typeof server === "string" ? server : (server.config?.DATABASE_URL ?? server.dbPath);
}

/** Whether the server runs on PostgreSQL (a node of a cluster) rather than on its SQLite file. */
export function onPostgres(server: ServerDb | string): boolean {
  return isPostgresUrl(databaseOf(server));
}

/** Runs the CLI on the test server's database while it runs, as an operator would; rejects with the CLI's error. */
export function cli(server: ServerDb | string, ...argv: string[]): Promise<string> {
  return runCliOn(argv, databaseOf(server));
}

// Counts and ids are bigint on PostgreSQL; as numbers, rows read the same on both backends.
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as "text"))) as typeof pg.types.getTypeParser,
};

/**
 * Runs one statement on the test server's database through a connection of
 * its own, beside the server: for what a test cannot see or do through the
 * API (age events, look at stored bytes). `?` marks a parameter on both
 * backends. Resolves with the rows (none for a write).
 */
export async function query<T = Record<string, unknown>>(server: ServerDb | string, sql: string, params: unknown[] = []): Promise<T[]> {
  const url = databaseOf(server);
  if (!isPostgresUrl(url)) {
    const sqlite = new Database(url);
    try {
      const statement = sqlite.prepare(sql);
      return statement.reader ? (statement.all(...params) as T[]) : (statement.run(...params), []);
    } finally {
      sqlite.close();
    }
  }
  let n = 0;
  const client = new pg.Client({ connectionString: url, types });
  await client.connect();
  try {
    return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * Retention's pruner on the test server's database, through a connection of
 * its own: for passes run by hand, with a clock of the test's. `close` ends
 * the connection.
 */
export function prunerOn(server: ServerDb | string): { pruner: Pruner; close(): Promise<void> } {
  const url = databaseOf(server);
  if (!isPostgresUrl(url)) {
    const sqlite = new Database(url);
    return { pruner: new SqlitePruner(sqlite), close: async () => void sqlite.close() };
  }
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  return { pruner: new PostgresPruner(pool), close: () => pool.end() };
}

/**
 * Takes the log's write lock from a connection of its own, as a CLI or a
 * backup tool would, and holds it until `release`: SQLite's reserved lock
 * (BEGIN IMMEDIATE), or PostgreSQL's EXCLUSIVE lock on the events table,
 * which holds every append and lets reads go on. `untilWaitedOn` resolves
 * once an append waits for it, where that can be seen (PostgreSQL shows it;
 * SQLite does not, and resolves at once).
 */
export async function lockWrites(server: ServerDb | string): Promise<{ untilWaitedOn(): Promise<void>; release(): Promise<void> }> {
  const url = databaseOf(server);
  if (!isPostgresUrl(url)) {
    const sqlite = new Database(url);
    sqlite.pragma("busy_timeout = 10000");
    sqlite.exec("BEGIN IMMEDIATE");
    return {
      untilWaitedOn: async () => undefined,
      release: async () => {
        sqlite.exec("COMMIT");
        sqlite.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("BEGIN");
  await client.query("LOCK TABLE events IN EXCLUSIVE MODE");
  return {
    untilWaitedOn: () =>
      vi.waitFor(
        async () => {
          const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'events'::regclass AND NOT granted");
          if (rows[0].n === 0) throw new Error("no append waits on the lock yet");
        },
        { timeout: 30_000, interval: 20 },
      ),
    release: async () => {
      await client.query("COMMIT");
      await client.end();
    },
  };
}

/** Whether nothing was made in the server's database yet: no SQLite file, or no table in PostgreSQL's. */
export async function untouched(server: ServerDb | string): Promise<boolean> {
  const url = databaseOf(server);
  if (!isPostgresUrl(url)) return !existsSync(url);
  return (await query(server, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).length === 0;
}
