import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliOn } from "../../src/cli.js";
import { createLogger } from "../../src/logger.js";
import { openDb, type Db } from "../../src/store/db.js";
import { SqliteEventLog } from "../../src/store/sqlite-event-log.js";
import { TurnBudget } from "../../src/turn-budget.js";

/** A SQLite log of its own (real file, real migrations, its threads), without a server: for tests of the log itself. */
export interface OwnSqliteLog {
  log: SqliteEventLog;
  /** The main thread's connection to the same file, as a server's stores use it. */
  db: Db;
  dispose(): Promise<void>;
}

/** Opens a log on a new database with `tenants` created by the CLI, as an operator would. */
export async function openSqliteLog(tenants: string[], readers = 2): Promise<OwnSqliteLog> {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-log-"));
  const path = join(dir, "log.db");
  const db = openDb(path);
  for (const slug of tenants) await runCliOn(["tenants", "create", slug], path);
  const log = await SqliteEventLog.open(db.$client, {
    path,
    durability: "normal",
    retention: { maxAgeMs: 0, maxEvents: 0, intervalMs: 60_000 },
    readers,
    logger: createLogger("error"),
    turn: new TurnBudget(),
  });
  return {
    log,
    db,
    async dispose() {
      log.close();
      await log.stop();
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
