import type Database from "better-sqlite3";
import type { NewEvent, StoredEvent } from "../event.js";
import { AppendRejected, keyReused, type RejectedStatus } from "./event-log.js";
import { countType, TypeCounts, type GroupCounts } from "./type-counts.js";
import type { WorkerBinding } from "../worker-binding.js";
import { RowInserts } from "./row-inserts.js";

/**
 * Runs inside the append transaction for every new event, before commit. A
 * projection updates its tables here; throwing (or rejecting with)
 * AppendRejected rejects the whole request (and only it). A hook with
 * nothing to do for an event returns nothing rather than a promise, so the
 * events no projection reads cost no await.
 */
export type AppendHook = (event: StoredEvent, index: number, request: AppendRequest) => Promise<void> | void;

/** One publish request as the writer receives it; `seq` identifies it in the answer. */
export interface AppendRequest {
  seq: number;
  tenant: string;
  /** The workers the publishing key may speak for; null or absent when it is not bound (or no key appends). */
  workers?: WorkerBinding;
  events: NewEvent[];
}

/** A request's fate in its group: its ids (and which were repeats of an idempotency key), or why it was rejected. */
export type AppendOutcome =
  | { seq: number; ids: number[]; repeats: number[] }
  | { seq: number; rejected: { status: RejectedStatus; message: string; details?: { index: number; reason: string }[]; code?: string } };

export interface SqliteWriterOptions {
  /**
   * Which types no hook has anything to do with (no domain projects them):
   * runs of such events without a key are inserted many rows per statement.
   */
  plain?: (type: string) => boolean;
  clock?: () => number;
}

/**
 * The write side of the SQLite log: commits a group of requests in one
 * transaction (group commit: one fsync acknowledges them all, which is what
 * keeps `synchronous=FULL` fast). Each request runs in its own savepoint, so
 * one rejected request never takes the others in its group down with it.
 * It runs in the writer thread, never on the main thread's event loop.
 *
 * The hot paths use better-sqlite3 prepared statements directly rather than
 * drizzle's builder: they run per event, and the schema is still drizzle's.
 */
export class SqliteWriter {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  /** Runs of plain events, many rows per statement. */
  readonly #insertPlainRows: RowInserts;
  readonly #findKey: Database.Statement;
  readonly #typeCounts: TypeCounts;

  readonly #plain: (type: string) => boolean;
  readonly #clock: () => number;

  constructor(
    db: Database.Database,
    private readonly hooks: readonly AppendHook[],
    options: SqliteWriterOptions = {},
  ) {
    this.#db = db;
    this.#plain = options.plain ?? (() => false);
    this.#clock = options.clock ?? Date.now;
    this.#insert = db.prepare(`${INSERT_INTO} VALUES ${ROW}`);
    this.#insertPlainRows = new RowInserts(db, INSERT_INTO, ROW);
    this.#findKey = db.prepare("SELECT id, key_fingerprint AS fingerprint FROM events WHERE tenant = ? AND key = ?");
    this.#typeCounts = new TypeCounts(db);
  }

  /**
   * Commits `batch` in one transaction and returns one outcome per request,
   * in order, with the time every event of the group was stamped with.
   * Throws when the transaction itself fails (disk full, I/O error): then
   * nothing of the group was committed.
   *
   * Projections are awaited (they are written once for SQLite and
   * PostgreSQL), so the transaction is opened and closed by hand rather than
   * by better-sqlite3's synchronous `transaction()`. Nothing else uses this
   * connection meanwhile: the writer commits one group at a time, and
   * SQLite's queries resolve at once, so no other work runs in between.
   */
  async commit(batch: AppendRequest[]): Promise<{ ts: number; outcomes: AppendOutcome[] }> {
    const ts = this.#clock();
    const outcomes: AppendOutcome[] = [];
    const appended: GroupCounts = new Map();
    const db = this.#db;
    db.exec("BEGIN");
    try {
      for (const request of batch) {
        // A request of plain events only can fail only with the whole transaction: it needs no savepoint
        // of its own (two statements fewer for every single-event publish of a generic event).
        const savepoint = !onlyPlain(request.events, this.#plain);
        if (savepoint) db.exec("SAVEPOINT request");
        try {
          const result = await this.#appendOne(request, ts);
          if (savepoint) db.exec("RELEASE request");
          outcomes.push({ seq: request.seq, ...result });
          let repeat = 0;
          for (let i = 0; i < request.events.length; i++) {
            if (result.repeats[repeat] === i) repeat++;
            else countType(appended, request.tenant, request.events[i].type);
          }
        } catch (err) {
          if (!savepoint) throw err;
          db.exec("ROLLBACK TO request; RELEASE request");
          if (!(err instanceof AppendRejected)) throw err;
          outcomes.push({ seq: request.seq, rejected: { status: err.status, message: err.message, details: err.details, code: err.code } });
        }
      }
      // The type summary (what globs resolve against), once per group and only for requests that committed.
      this.#typeCounts.recordAppended(appended);
      db.exec("COMMIT");
    } catch (err) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw err;
    }
    return { ts, outcomes };
  }

  async #appendOne(request: AppendRequest, ts: number): Promise<{ ids: number[]; repeats: number[] }> {
    const { tenant, events } = request;
    const ids: number[] = [];
    const repeats: number[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.key === null && this.#plain(e.type)) {
        let end = i + 1;
        while (end < events.length && events[end].key === null && this.#plain(events[end].type)) end++;
        this.#insertPlain(tenant, events, i, end, ts, ids);
        i = end - 1;
        continue;
      }
      const fingerprint = e.key === null ? null : (e.fingerprint ?? null);
      if (e.key !== null) {
        // Here, in the writer's transaction, so that two requests racing with one key are compared too.
        const existing = this.#findKey.get(tenant, e.key) as { id: number; fingerprint: string | null } | undefined;
        if (existing !== undefined) {
          if (fingerprint !== null && existing.fingerprint !== null && fingerprint !== existing.fingerprint) throw keyReused(e.key, existing.id, i, events.length);
          ids.push(existing.id);
          repeats.push(i);
          continue;
        }
      }
      const id = Number(this.#insert.run(tenant, e.type, e.subject, e.data, e.key, fingerprint, ts).lastInsertRowid);
      if (this.hooks.length > 0) {
        const stored: StoredEvent = { id, tenant, type: e.type, subject: e.subject, data: e.data, key: e.key, ts };
        for (const hook of this.hooks) {
          const projected = hook(stored, i, request);
          if (projected) await projected;
        }
      }
      ids.push(id);
    }
    return { ids, repeats };
  }

  /**
   * Inserts events[from, to), which need no key check and no hook, many
   * rows per statement (RowInserts), pushing their ids: the rows of one
   * statement take consecutive ids, as this is the only connection that
   * appends.
   */
  #insertPlain(tenant: string, events: readonly NewEvent[], from: number, to: number, ts: number, ids: number[]): void {
    this.#insertPlainRows.insert(
      from,
      to,
      (params, i) => {
        const e = events[i];
        params.push(tenant, e.type, e.subject, e.data, null, null, ts);
      },
      (last, rows) => {
        for (let id = last - rows + 1; id <= last; id++) ids.push(id);
      },
    );
  }
}

/**
 * Whether a request's events are all plain: no key to check, no type a hook reads. Such a request can
 * only succeed (or fail with its whole transaction), so it needs no savepoint of its own.
 */
export function onlyPlain(events: readonly NewEvent[], plain: (type: string) => boolean): boolean {
  for (const e of events) if (e.key !== null || !plain(e.type)) return false;
  return true;
}

const INSERT_INTO = "INSERT INTO events (tenant, type, subject, data, key, key_fingerprint, ts)";
const ROW = "(?, ?, ?, ?, ?, ?, ?)";
