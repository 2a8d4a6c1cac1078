import type Database from "better-sqlite3";
import type { StoredEvent } from "../event.js";
import type { Logger } from "../logger.js";
import type { Db } from "./db.js";
import { AppendRejected } from "./event-log.js";
import { RowInserts } from "./row-inserts.js";
import type { AppendHook } from "./sqlite-writer.js";
import { countType, TypeCounts, type GroupCounts } from "./type-counts.js";

/**
 * Recent events a replica keeps below its head. The replica's `events` table
 * is a cache (history is read from PostgreSQL): it is there for the head
 * (`sqlite_sequence`, which deleting rows never lowers) and the latest ids.
 */
export const REPLICA_EVENTS = 10_000;

/**
 * The write side of a node's SQLite replica on PostgreSQL (see
 * PostgresEventLog): applies events PostgreSQL has committed, with their
 * ids and times, through the same projections that ran in the append
 * transaction there, so the replica's tables are the database's through
 * its head. Runs in the log's writer thread, one page at a time.
 */
export class ReplicaWriter {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #insertRows: RowInserts;
  readonly #trim: Database.Statement;
  readonly #typeCounts: TypeCounts;

  constructor(
    db: Db,
    private readonly hooks: readonly AppendHook[],
    private readonly logger: Logger,
    /** Which types no hook has anything to do with (see SqliteWriterOptions.plain). */
    private readonly plain: (type: string) => boolean = () => false,
  ) {
    this.#db = db.$client;
    this.#insert = this.#db.prepare(`${INSERT_INTO} VALUES ${ROW}`);
    this.#insertRows = new RowInserts(this.#db, INSERT_INTO, ROW);
    this.#trim = this.#db.prepare("DELETE FROM events WHERE id <= ?");
    this.#typeCounts = new TypeCounts(this.#db);
  }

  /** Applies committed events (ascending ids) in one transaction. */
  async apply(events: readonly StoredEvent[]): Promise<void> {
    const db = this.#db;
    const counts: GroupCounts = new Map();
    db.exec("BEGIN");
    try {
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (this.plain(e.type)) {
          // A run of events no projection reads can only be inserted: many rows a statement, no savepoint.
          let end = i + 1;
          while (end < events.length && this.plain(events[end].type)) end++;
          this.#insertRows.insert(i, end, (params, j) => {
            const p = events[j];
            params.push(p.id, p.tenant, p.type, p.subject, p.data, p.key, p.ts);
          });
          for (let j = i; j < end; j++) countType(counts, events[j].tenant, events[j].type);
          i = end - 1;
          continue;
        }
        db.exec("SAVEPOINT event");
        try {
          this.#insert.run(e.id, e.tenant, e.type, e.subject, e.data, e.key, e.ts);
          const request = { seq: 0, tenant: e.tenant, workers: null, events: [e] };
          for (const hook of this.hooks) {
            const projected = hook(e, 0, request);
            if (projected) await projected;
          }
          db.exec("RELEASE event");
          countType(counts, e.tenant, e.type);
        } catch (err) {
          db.exec("ROLLBACK TO event; RELEASE event");
          if (!(err instanceof AppendRejected)) throw err;
          // PostgreSQL accepted what this replica's state refuses: the two have diverged. The event is
          // left out here (streams and history still have it, from PostgreSQL); a restart copies afresh.
          this.logger.error("the replica refused an event PostgreSQL committed: it has diverged; restart this node", {
            id: e.id,
            tenant: e.tenant,
            type: e.type,
            reason: err.message,
          });
        }
      }
      this.#typeCounts.recordAppended(counts);
      const last = events[events.length - 1]?.id ?? 0;
      this.#trim.run(last - REPLICA_EVENTS);
      db.exec("COMMIT");
    } catch (err) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw err;
    }
  }
}

const INSERT_INTO = "INSERT INTO events (id, tenant, type, subject, data, key, key_fingerprint, ts)";
const ROW = "(?, ?, ?, ?, ?, ?, NULL, ?)";
