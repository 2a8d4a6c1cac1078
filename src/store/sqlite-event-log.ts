import type Database from "better-sqlite3";
import type { NewEvent, StoredEvent } from "../event.js";
import { AppendRejected, type AppendResult, type EventLog, type ReadPage, type ReadQuery } from "./event-log.js";
import { EventReader } from "./event-reads.js";
import { TypeCounts } from "./type-counts.js";

interface PendingAppend {
  tenant: string;
  events: NewEvent[];
  resolve: (result: AppendResult) => void;
  reject: (error: Error) => void;
}

/**
 * Runs inside the append transaction for every new event, before commit. A
 * projection updates its tables here; throwing AppendRejected rejects the
 * whole request (and only it).
 */
export type AppendHook = (event: StoredEvent, index: number) => void;

/** Past this many events a group is committed and the rest wait for the next turn, so one flush never stalls the loop for long. */
const MAX_GROUP_EVENTS = 20_000;

export class ShuttingDown extends Error {
  constructor() {
    super("the server is shutting down");
  }
}

/**
 * The event log on one SQLite file. Appends arriving in the same turn of
 * the event loop are committed together in one transaction (group commit):
 * one fsync acknowledges them all, which is what keeps `synchronous=FULL`
 * fast. Each request runs in its own savepoint, so one rejected request
 * never takes the others in its group down with it.
 *
 * The hot paths use better-sqlite3 prepared statements directly rather than
 * drizzle's builder: they run per event, and the schema is still drizzle's.
 */
export class SqliteEventLog implements EventLog {
  readonly #db: Database.Database;
  readonly #clock: () => number;
  readonly #listeners: ((events: StoredEvent[]) => void)[] = [];
  readonly #hooks: AppendHook[] = [];
  readonly #reader: EventReader;
  readonly #typeCounts: TypeCounts;
  #queue: PendingAppend[] = [];
  #scheduled = false;
  #closed = false;
  #idle: (() => void)[] = [];
  #head: number;

  readonly #insert: Database.Statement;
  readonly #findKey: Database.Statement;
  readonly #getOldest: Database.Statement;
  readonly #getOldestAll: Database.Statement;
  readonly #getPruned: Database.Statement;
  readonly #getMaxPruned: Database.Statement;
  readonly #group: (batch: PendingAppend[], ts: number, out: (AppendResult | Error)[]) => void;
  readonly #request: (p: PendingAppend, ts: number) => AppendResult;

  constructor(db: Database.Database, options: { clock?: () => number } = {}) {
    this.#db = db;
    this.#clock = options.clock ?? Date.now;
    this.#insert = db.prepare("INSERT INTO events (tenant, type, subject, data, key, ts) VALUES (?, ?, ?, ?, ?, ?)");
    this.#findKey = db.prepare("SELECT id FROM events WHERE tenant = ? AND key = ?").pluck();
    this.#getOldest = db.prepare("SELECT min(id) FROM events WHERE tenant = ?").pluck();
    this.#getOldestAll = db.prepare("SELECT min(id) FROM events").pluck();
    this.#getPruned = db.prepare("SELECT pruned_through FROM tenants WHERE slug = ?").pluck();
    this.#getMaxPruned = db.prepare("SELECT coalesce(max(pruned_through), 0) FROM tenants").pluck();
    this.#reader = new EventReader(db);
    this.#typeCounts = new TypeCounts(db);
    this.#head = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck().get() as number | undefined) ?? 0;

    this.#request = db.transaction((p: PendingAppend, ts: number) => this.#appendOne(p, ts));
    this.#group = db.transaction((batch: PendingAppend[], ts: number, out: (AppendResult | Error)[]) => {
      for (const p of batch) {
        try {
          out.push(this.#request(p, ts));
        } catch (err) {
          if (!(err instanceof AppendRejected)) throw err;
          out.push(err);
        }
      }
      // Once per group, counting only the requests that committed.
      this.#typeCounts.recordAppended(out.flatMap((r) => (r instanceof Error ? [] : r.appended)));
    });
  }

  onCommit(listener: (events: StoredEvent[]) => void): void {
    this.#listeners.push(listener);
  }

  /** Adds a hook that runs for each new event inside the append transaction. */
  addAppendHook(hook: AppendHook): void {
    this.#hooks.push(hook);
  }

  append(tenant: string, events: NewEvent[]): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new ShuttingDown());
    return new Promise((resolve, reject) => {
      this.#queue.push({ tenant, events, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  #flush = (): void => {
    let count = 0;
    let take = 0;
    while (take < this.#queue.length && (take === 0 || count + this.#queue[take].events.length <= MAX_GROUP_EVENTS)) {
      count += this.#queue[take++].events.length;
    }
    const batch = this.#queue.splice(0, take);
    const out: (AppendResult | Error)[] = [];
    try {
      this.#group(batch, this.#clock(), out);
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
      return this.#afterFlush();
    }
    const committed: StoredEvent[] = [];
    for (const r of out) if (!(r instanceof Error)) for (const e of r.appended) committed.push(e);
    if (committed.length > 0) {
      this.#head = committed[committed.length - 1].id;
      for (const listener of this.#listeners) listener(committed);
    }
    batch.forEach((p, i) => {
      const r = out[i];
      if (r instanceof Error) p.reject(r);
      else p.resolve(r);
    });
    this.#afterFlush();
  };

  #afterFlush(): void {
    if (this.#queue.length > 0) {
      setImmediate(this.#flush);
      return;
    }
    this.#scheduled = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const done of idle) done();
  }

  #appendOne(p: PendingAppend, ts: number): AppendResult {
    const ids: number[] = [];
    const appended: StoredEvent[] = [];
    for (let i = 0; i < p.events.length; i++) {
      const e = p.events[i];
      if (e.key !== null) {
        const existing = this.#findKey.get(p.tenant, e.key) as number | undefined;
        if (existing !== undefined) {
          ids.push(existing);
          continue;
        }
      }
      const id = Number(this.#insert.run(p.tenant, e.type, e.subject, e.data, e.key, ts).lastInsertRowid);
      const stored: StoredEvent = { id, tenant: p.tenant, type: e.type, subject: e.subject, data: e.data, key: e.key, ts };
      for (const hook of this.#hooks) hook(stored, i);
      ids.push(id);
      appended.push(stored);
    }
    return { ids, appended };
  }

  async read(q: ReadQuery): Promise<ReadPage> {
    return this.#reader.read(q, this.#head);
  }

  head(): number {
    return this.#head;
  }

  oldest(tenant: string | null): number | null {
    return ((tenant === null ? this.#getOldestAll.get() : this.#getOldest.get(tenant)) as number | null) ?? null;
  }

  prunedThrough(tenant: string | null): number {
    return ((tenant === null ? this.#getMaxPruned.get() : this.#getPruned.get(tenant)) as number | undefined) ?? 0;
  }

  drain(): Promise<void> {
    if (!this.#scheduled) return Promise.resolve();
    return new Promise((done) => this.#idle.push(done));
  }

  /** Refuses new appends; those already accepted still commit (await drain()). */
  close(): void {
    this.#closed = true;
  }
}
