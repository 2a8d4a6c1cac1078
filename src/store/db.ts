import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import * as schema from "./schema.js";
import { rowUpgrades } from "./upgrades.js";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), "../../drizzle/sqlite");

export interface OpenOptions {
  /** `full` fsyncs every commit (survives power loss); `normal` only survives crashes. */
  durability?: "full" | "normal";
  /** Apply the committed migrations (default). The log's threads open a database the main thread has already migrated. */
  migrate?: boolean;
}

/**
 * Opens (creating if needed) the SQLite file, sets WAL mode and the
 * durability level, and applies the committed migrations (and the row
 * upgrades that go with them).
 */
export function openDb(path: string, options: OpenOptions = {}): Db {
  if (path !== ":memory:") mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma(`synchronous = ${options.durability === "normal" ? "NORMAL" : "FULL"}`);
  sqlite.pragma("foreign_keys = ON");
  // The CLI may write (create a key) while the server runs; wait instead of failing.
  sqlite.pragma("busy_timeout = 5000");
  const db = drizzle(sqlite, { schema }) as Db;
  if (options.migrate !== false) {
    const upgradeRows = rowUpgrades(sqlite);
    migrate(db, { migrationsFolder: MIGRATIONS });
    upgradeRows();
  }
  return db;
}
