import Database from "better-sqlite3";
import pg from "pg";
import { isPostgresUrl } from "../../src/config.js";
import { runCliOn } from "../../src/cli.js";
import { PostgresPruner } from "../../src/store/postgres-pruner.js";
import { SqlitePruner, type Pruner } from "../../src/store/retention.js";

/** What a test knows of its server's database: a SQLite file beside it, or the PostgreSQL URL in its configuration. */
export interface ServerDb {
  dbPath: string;
  config?: { DATABASE_URL: string };
}

/** The server's database as an operator names it: the PostgreSQL URL, or the SQLite file's path. */
export function databaseOf(server: ServerDb): string {
  return server.config?.DATABASE_URL ?? server.dbPath;
}

/** Whether the server runs on PostgreSQL (a node of a cluster) rather than on its SQLite file. */
export function onPostgres(server: ServerDb): boolean {
  return isPostgresUrl(databaseOf(server));
}

/** Runs the CLI on the test server's database while it runs, as an operator would; rejects with the CLI's error. */
export function cli(server: ServerDb, ...argv: string[]): Promise<string> {
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
export async function query<T = Record<string, unknown>>(server: ServerDb, sql: string, params: unknown[] = []): Promise<T[]> {
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
export function prunerOn(server: ServerDb): { pruner: Pruner; close(): Promise<void> } {
  const url = databaseOf(server);
  if (!isPostgresUrl(url)) {
    const sqlite = new Database(url);
    return { pruner: new SqlitePruner(sqlite), close: async () => void sqlite.close() };
  }
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  return { pruner: new PostgresPruner(pool), close: () => pool.end() };
}
