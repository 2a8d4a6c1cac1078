import type { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import type { NewEvent, StoredEvent } from "../event.js";
import type { Logger } from "../logger.js";
import { packNew } from "./event-columns.js";
import { AppendRejected, type AppendOptions, type AppendResult, type EventLog, type FramesPage, type ReadPage, type ReadQuery, type Retained, type SubjectHistoryQuery } from "./event-log.js";
import { CommitListeners } from "./commit-listeners.js";
import { ReaderPool } from "./reader-pool.js";
import type { SessionChange } from "./sessions.js";
import { SqliteSubjectHistory } from "./subject-history.js";
import type { AppendOutcome } from "./sqlite-writer.js";
import { nextTurn } from "../next-turn.js";
import type { TurnBudget } from "../turn-budget.js";
import { startThread } from "./threads.js";
import { WalCheckpoints } from "./wal-checkpoints.js";
import type { WorkerBinding } from "../worker-binding.js";
import type { AppendPart, FromWriter, ToWriter, WriterOptions } from "./writer-protocol.js";
import { TurnMemo } from "../turn-memo.js";

interface PendingAppend {
  tenant: string;
  events: NewEvent[];
  resolve: (result: AppendResult) => void;
  reject: (error: Error) => void;
}

/** A batch is sent to the writer in chunks of this many events, one per turn: cloning 50,000 events at once would hold the loop. */
const CHUNK_EVENTS = 2_000;

export interface SqliteLogOptions extends WriterOptions {
  /** Reader threads for history reads and stream catch-up. */
  readers: number;
  logger: Logger;
  /** The loop's time per turn, shared with the fan-out (see TurnBudget). */
  turn: TurnBudget;
}

export class ShuttingDown extends Error {
  constructor() {
    super("the server is shutting down");
  }
}

/**
 * The event log on one SQLite file, with the database off the event loop:
 * appends go to a writer thread (group commit, projections in the same
 * transaction, fsync), history reads to reader threads on their own
 * connections. What stays here is cheap: the head, the retention marks and
 * `atHead` snapshots of state, small index lookups on the main thread's
 * connection.
 *
 * Committed groups come back in commit order; their events go to the commit
 * listeners in id order, a slice per turn of the event loop, and each
 * request's promise resolves once all of its group has been delivered.
 */
export class SqliteEventLog implements EventLog {
  readonly #listeners: CommitListeners;
  readonly #pending = new Map<number, PendingAppend>();
  readonly #headOf: Database.Statement;
  readonly #getOldest: Database.Statement;
  readonly #getTypeCounts: Database.Statement;
  readonly #getLatest: Database.Statement;
  readonly #getOldestAll: Database.Statement;
  readonly #getPruned: Database.Statement;
  readonly #getMaxPruned: Database.Statement;
  readonly #pruned = new TurnMemo<string | null, number>();
  readonly #snapshot: (read: (head: number) => unknown) => { head: number; value: unknown };
  readonly #subjectHistory: SqliteSubjectHistory;
  #writer!: Worker;
  /** Parts for the writer, sent together at the end of a turn (see #flushOutbox). */
  #outbox: AppendPart[] = [];
  #outboxEvents = 0;
  #outboxScheduled = false;
  /** Requests sent whole to the writer and not answered yet. */
  #unanswered = 0;
  #writerStopped: (() => void) | null = null;
  #seq = 0;
  /** Small writes besides the log sent to the writer and not answered yet, by id. */
  readonly #writes = new Map<number, { resolve: (changed: number) => void; reject: (error: Error) => void }>();
  /** Collections asked of the writer, answered in the order asked (their ids matter to a replica's writer, not here). */
  readonly #collections: (() => void)[] = [];
  #writeSeq = 0;
  #delivery: Promise<void> = Promise.resolve();
  #delivering = 0;
  #idle: (() => void)[] = [];
  #closed = false;
  readonly #checkpoints: WalCheckpoints;

  private constructor(
    sqlite: Database.Database,
    private readonly options: SqliteLogOptions,
    private readonly readers: ReaderPool,
  ) {
    this.#listeners = new CommitListeners(options.turn, options.logger);
    this.#checkpoints = new WalCheckpoints(() => readers.checkpoint(), options.logger);
    this.#headOf = sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck();
    this.#getOldest = sqlite.prepare("SELECT min(id) FROM events WHERE tenant = ?").pluck();
    this.#getOldestAll = sqlite.prepare("SELECT min(id) FROM events").pluck();
    this.#getTypeCounts = sqlite.prepare("SELECT type, count FROM event_type_counts WHERE tenant = ?");
    this.#getLatest = sqlite.prepare("SELECT max(id) FROM events WHERE tenant = ?").pluck();
    this.#getPruned = sqlite.prepare("SELECT pruned_through FROM tenants WHERE slug = ?").pluck();
    this.#getMaxPruned = sqlite.prepare("SELECT coalesce(max(pruned_through), 0) FROM tenants").pluck();
    this.#subjectHistory = new SqliteSubjectHistory(sqlite);
    // A deferred transaction: its first read fixes the snapshot that the head and every read in it see.
    this.#snapshot = sqlite.transaction((read: (head: number) => unknown) => {
      const head = this.head();
      return { head, value: read(head) };
    });
  }

  /**
   * Starts the writer and reader threads on the database `sqlite` is open on
   * (already migrated); `sqlite` itself serves the main thread's small reads.
   */
  static async open(sqlite: Database.Database, options: SqliteLogOptions): Promise<SqliteEventLog> {
    const readers = await ReaderPool.start(options.path, options.readers);
    const log = new SqliteEventLog(sqlite, options, readers);
    await log.#startWriter();
    return log;
  }

  onCommit(listener: (events: StoredEvent[]) => void): void {
    this.#listeners.add(listener);
  }

  append(tenant: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new ShuttingDown());
    const seq = ++this.#seq;
    const workers = options.workers ?? null;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { tenant, events, resolve, reject });
      if (events.length <= CHUNK_EVENTS) this.#post({ seq, tenant, workers, events: packNew(events), more: false });
      else void this.#postInChunks(seq, tenant, workers, events);
    });
  }

  async #postInChunks(seq: number, tenant: string, workers: WorkerBinding, events: NewEvent[]): Promise<void> {
    const writer = this.#writer;
    for (let at = 0; at < events.length; at += CHUNK_EVENTS) {
      if (at > 0) await nextTurn();
      // A writer that died meanwhile failed this request; its replacement must not get half of it.
      if (this.#writer !== writer) return;
      const to = Math.min(at + CHUNK_EVENTS, events.length);
      this.#post({ seq, tenant, workers, events: packNew(events, at, to), more: to < events.length });
    }
  }

  /** Queues a part for the writer; it goes at the end of the turn at the earliest, with every other part queued by then. */
  #post(part: AppendPart): void {
    this.#outbox.push(part);
    this.#outboxEvents += part.events.types.length;
    if (!this.#outboxScheduled) {
      this.#outboxScheduled = true;
      setImmediate(this.#flushOutbox);
    }
  }

  /**
   * Sends the queued parts in one message. While the writer is still committing what it was sent
   * before, small requests wait for its answer and then go together: a message per commit rather
   * than per turn (each costs both threads), and larger groups for one fsync. A batch's chunks go
   * at once, so no message grows large and a big batch streams to the writer as it is read.
   */
  #flushOutbox = (): void => {
    this.#outboxScheduled = false;
    if (this.#outbox.length === 0) return;
    if (this.#unanswered > 0 && this.#outboxEvents < CHUNK_EVENTS) return; // #answered sends them
    const parts = this.#outbox;
    this.#outbox = [];
    this.#outboxEvents = 0;
    for (const part of parts) if (!part.more) this.#unanswered++;
    this.#send({ op: "append", parts });
  };

  /** The writer answered `count` requests: once it has answered everything sent, what waits goes. */
  #answered(count: number): void {
    this.#unanswered = Math.max(0, this.#unanswered - count);
    if (this.#unanswered === 0) this.#flushOutbox();
  }

  /**
   * Applies a small write besides the log (a console session change) in the
   * writer thread, the one connection that writes: the event loop never
   * waits on the database's lock or on an fsync. Resolves with the number
   * of sessions it ended.
   */
  write(change: SessionChange): Promise<number> {
    if (this.#closed) return Promise.reject(new ShuttingDown());
    const id = ++this.#writeSeq;
    return new Promise((resolve, reject) => {
      this.#writes.set(id, { resolve, reject });
      this.#send({ op: "write", id, change });
    });
  }

  read(q: ReadQuery): Promise<ReadPage> {
    return this.readers.read(q);
  }

  async subjectHistory(q: SubjectHistoryQuery): Promise<StoredEvent[]> {
    return this.#subjectHistory.read(q);
  }

  readFrames(q: ReadQuery): Promise<FramesPage> {
    return this.readers.readFrames(q);
  }

  head(): number {
    return (this.#headOf.get() as number | undefined) ?? 0;
  }

  atHead<T>(read: (head: number) => T): { head: number; value: T } {
    return this.#snapshot(read) as { head: number; value: T };
  }

  async oldest(tenant: string | null): Promise<number | null> {
    return ((tenant === null ? this.#getOldestAll.get() : this.#getOldest.get(tenant)) as number | null) ?? null;
  }

  prunedThrough(tenant: string | null): number {
    // Asked by every catch-up page of every replaying stream (a thousand at once after a burst): once a turn will do.
    return this.#pruned.get(tenant, (t) => ((t === null ? this.#getMaxPruned.get() : this.#getPruned.get(t)) as number | undefined) ?? 0);
  }

  async retained(tenant: string): Promise<Retained> {
    return this.#snapshot(() => ({
      types: this.#getTypeCounts.all(tenant) as { type: string; count: number }[],
      latest: (this.#getLatest.get(tenant) as number | null) ?? null,
    })).value as Retained;
  }

  drain(): Promise<void> {
    if (this.#pending.size === 0 && this.#delivering === 0) return Promise.resolve();
    return new Promise((done) => this.#idle.push(done));
  }

  /** Refuses new appends; those already accepted still commit (await drain()). */
  close(): void {
    this.#closed = true;
  }

  /** After close() and drain(): stops retention and the threads, closing their connections. */
  async stop(): Promise<void> {
    this.#closed = true;
    await this.drain();
    this.#checkpoints.stop();
    await new Promise<void>((resolve) => {
      this.#writerStopped = resolve;
      this.#send({ op: "stop" });
    });
    await this.readers.stop();
  }

  async collectGarbage(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#collections.push(resolve);
      this.#send({ op: "gc", id: this.#collections.length });
    });
    await this.readers.collectGarbage();
  }

  #send(message: ToWriter): void {
    this.#writer.postMessage(message);
  }

  #startWriter(): Promise<void> {
    const { readers: _readers, logger: _logger, turn: _turn, ...writerOptions } = this.options;
    const writer = startThread("./writer-thread.ts", { ...writerOptions, checkpointedElsewhere: true } satisfies WriterOptions);
    this.#writer = writer;
    return new Promise((ready, failed) => {
      writer.on("message", (message: FromWriter) => {
        switch (message.op) {
          case "ready":
            return ready();
          case "committed":
            this.#committed(message.ts, message.outcomes);
            return this.#answered(message.outcomes.length);
          case "failed":
            this.#failed(message.seqs, new Error(`the commit failed: ${message.message}`));
            return this.#answered(message.seqs.length);
          case "collected":
            return this.#collections.shift()?.();
          case "written": {
            const waiter = this.#writes.get(message.id);
            this.#writes.delete(message.id);
            if (message.error === undefined) waiter?.resolve(message.changed);
            else waiter?.reject(new Error(`the write failed: ${message.error}`));
            return;
          }
          case "log":
            return this.options.logger[message.level](message.msg, message.fields);
          case "stopped":
            return this.#writerStopped?.();
        }
      });
      writer.once("error", (err) => {
        failed(err);
        if (this.#writer !== writer) return;
        // Whatever the writer held is lost with it (nothing it held was acknowledged): fail those
        // requests, then start a new writer so the log keeps working.
        this.options.logger.error("the log's writer thread failed; starting a new one", { error: err.message });
        this.#outbox = [];
        this.#outboxEvents = 0;
        this.#unanswered = 0;
        this.#failed([...this.#pending.keys()], new Error(`the log's writer failed: ${err.message}`));
        for (const waiter of this.#writes.values()) waiter.reject(new Error(`the log's writer failed: ${err.message}`));
        this.#writes.clear();
        for (const done of this.#collections.splice(0)) done();
        void this.#startWriter().catch((e: Error) => this.options.logger.error("the log's writer could not restart", { error: e.message }));
      });
    });
  }

  #failed(seqs: number[], error: Error): void {
    for (const seq of seqs) {
      this.#pending.get(seq)?.reject(error);
      this.#pending.delete(seq);
    }
    this.#checkIdle();
  }

  #committed(ts: number, outcomes: AppendOutcome[]): void {
    this.#checkpoints.appended();
    const group: [PendingAppend, AppendOutcome][] = [];
    for (const outcome of outcomes) {
      const pending = this.#pending.get(outcome.seq);
      this.#pending.delete(outcome.seq);
      if (pending) group.push([pending, outcome]);
    }
    this.#delivering++;
    // Groups are delivered one after another: a large one's slices never interleave with the next group's events.
    this.#delivery = this.#delivery
      .then(() => this.#deliver(ts, group))
      .finally(() => {
        this.#delivering--;
        this.#checkIdle();
      });
  }

  /**
   * Hands a group's events to the listeners in slices, and answers each request as soon as its own
   * events (and with them every earlier one) have been published: a single event committed with a
   * large batch behind it is answered after the slice that holds it, not after the whole group, and
   * not a turn later when the loop is busy (that turn was 6-14 ms of another tenant's 25-45 ms
   * publish beside stalled consumers taking a burst, bench case c).
   */
  async #deliver(ts: number, group: [PendingAppend, AppendOutcome][]): Promise<void> {
    const answers: [PendingAppend, AppendResult | Error][] = [];
    const answer = () => {
      for (const [pending, result] of answers) {
        if (result instanceof Error) pending.reject(result);
        else pending.resolve(result);
      }
      answers.length = 0;
    };
    let slice: StoredEvent[] = [];
    for (const [pending, outcome] of group) {
      if ("rejected" in outcome) {
        const { status, message, details, code } = outcome.rejected;
        answers.push([pending, new AppendRejected(status, message, details, code)]);
        continue;
      }
      const appended: StoredEvent[] = [];
      let repeat = 0;
      for (let i = 0; i < pending.events.length; i++) {
        if (outcome.repeats[repeat] === i) {
          repeat++;
          continue;
        }
        const e = pending.events[i];
        const stored: StoredEvent = { id: outcome.ids[i], tenant: pending.tenant, type: e.type, subject: e.subject, data: e.data, key: e.key, ts };
        appended.push(stored);
        slice.push(stored);
        if (slice.length >= this.#listeners.sliceEvents) {
          await this.#listeners.deliverSlice(slice, answer);
          slice = [];
        }
      }
      answers.push([pending, { ids: outcome.ids, appended }]);
    }
    if (slice.length > 0) await this.#listeners.deliverSlice(slice, answer);
    answer();
  }

  #checkIdle(): void {
    if (this.#pending.size > 0 || this.#delivering > 0) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const done of idle) done();
  }
}
