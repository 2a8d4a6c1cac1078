import type Database from "better-sqlite3";
import type { NewEvent, StoredEvent } from "../event.js";
import { AppendRejected, keyReused, type RejectedStatus } from "./event-log.js";
import { countType, TypeCounts, type GroupCounts } from "./type-counts.js";
import type { WorkerBinding } from "../worker-binding.js";

/**
 * Runs inside the append transaction for every new event, before commit. A
 * projection updates its tables here; throwing AppendRejected rejects the
 * whole request (and only it).
 */
export type AppendHook = (event: StoredEvent, index: number, request: AppendRequest) => void;

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

/**
 * The write side of the SQLite log: commits a group of requests in one
 * transaction (group commit: one fsync acknowledges them all, which is what
 * keeps `synchronous=FULL` fast). Each request runs in its own savepoint, so
 * one rejected request never takes the others in its group down with it.
 * Synchronous by nature; it runs in the writer thread, never on the main
 * thread's event loop.
 *
 * The hot paths use better-sqlite3 prepared statements directly rather than
 * drizzle's builder: they run per event, and the schema is still drizzle's.
 */
export class SqliteWriter {
  readonly #insert: Database.Statement;
  readonly #findKey: Database.Statement;
  readonly #group: (batch: AppendRequest[], ts: number, out: AppendOutcome[]) => void;
  readonly #request: (request: AppendRequest, ts: number) => { ids: number[]; repeats: number[] };

  constructor(
    db: Database.Database,
    private readonly hooks: readonly AppendHook[],
    private readonly clock: () => number = Date.now,
  ) {
    this.#insert = db.prepare("INSERT INTO events (tenant, type, subject, data, key, key_fingerprint, ts) VALUES (?, ?, ?, ?, ?, ?, ?)");
    this.#findKey = db.prepare("SELECT id, key_fingerprint AS fingerprint FROM events WHERE tenant = ? AND key = ?");
    this.#request = db.transaction((request: AppendRequest, ts: number) => this.#appendOne(request, ts));
    const typeCounts = new TypeCounts(db);
    this.#group = db.transaction((batch: AppendRequest[], ts: number, out: AppendOutcome[]) => {
      const appended: GroupCounts = new Map();
      for (const request of batch) {
        try {
          const result = this.#request(request, ts);
          out.push({ seq: request.seq, ...result });
          let repeat = 0;
          for (let i = 0; i < request.events.length; i++) {
            if (result.repeats[repeat] === i) repeat++;
            else countType(appended, request.tenant, request.events[i].type);
          }
        } catch (err) {
          if (!(err instanceof AppendRejected)) throw err;
          out.push({ seq: request.seq, rejected: { status: err.status, message: err.message, details: err.details, code: err.code } });
        }
      }
      // The type summary (what globs resolve against), once per group and only for requests that committed.
      typeCounts.recordAppended(appended);
    });
  }

  /**
   * Commits `batch` in one transaction and returns one outcome per request,
   * in order, with the time every event of the group was stamped with.
   * Throws when the transaction itself fails (disk full, I/O error): then
   * nothing of the group was committed.
   */
  commit(batch: AppendRequest[]): { ts: number; outcomes: AppendOutcome[] } {
    const ts = this.clock();
    const outcomes: AppendOutcome[] = [];
    this.#group(batch, ts, outcomes);
    return { ts, outcomes };
  }

  #appendOne(request: AppendRequest, ts: number): { ids: number[]; repeats: number[] } {
    const { tenant, events } = request;
    const ids: number[] = [];
    const repeats: number[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
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
        for (const hook of this.hooks) hook(stored, i, request);
      }
      ids.push(id);
    }
    return { ids, repeats };
  }
}
