import type { NewEvent, StoredEvent } from "../event.js";
import type { WorkerBinding } from "../worker-binding.js";

/** What to read from the log: events after `after`, oldest first. */
export interface ReadQuery {
  /** One tenant, or null for every tenant (admin streams). */
  tenant: string | null;
  after: number;
  limit: number;
  /** Type globs (`call.*`); empty means every type. */
  types: readonly string[];
  subject?: string | null;
}

/**
 * What to read of one subject's history, newest first: its events of one
 * topic with ids below `before`, `limit` of them at most. A keyset page:
 * the next (older) page starts below the last id of this one.
 */
export interface SubjectHistoryQuery {
  tenant: string;
  subject: string;
  /** Events of types `<topic>.*` only. */
  topic: string;
  before: number;
  limit: number;
}

export interface ReadPage {
  events: StoredEvent[];
  /**
   * A tenant's read only: the highest id retention had pruned of the tenant
   * when the page was read, in the page's own snapshot where the log has one
   * (SQLite), else read just after it (never before). A catch-up that finds
   * it past its position lost events to retention while it read.
   */
  prunedThrough?: number;
  /**
   * The position through which this read is complete: the last event's id
   * when the page is full, else the log's head at the time of the read. A
   * reader continues from here and never misses an event below it.
   */
  through: number;
}

/**
 * A page of history as the bytes of its events' SSE frames on JSON streams
 * (hub/json-frame.ts), made on a reader thread and handed over without a
 * copy: the event loop writes them as they are, with nothing to decode,
 * encode or collect. Event i's frame ends at `ends[i]` and its id is
 * `ids[i]`, so a page can be cut after any event.
 */
export interface FramesPage {
  frames: Buffer;
  ends: readonly number[];
  ids: readonly number[];
  /** As in ReadPage. */
  through: number;
  prunedThrough?: number;
  /**
   * To call once the frames have been written (the socket has taken them) or dropped: their memory
   * may be shared with the reader, which writes its next pages there. Later calls do nothing.
   */
  release(): void;
}

/** Who is appending, where the domains' rules depend on it. */
export interface AppendOptions {
  /**
   * The workers the publishing key may speak for (src/worker-binding.ts):
   * a worker event (a domain's answer or report of a worker) that speaks for
   * another worker rejects the request with 403. Null or absent: not bound.
   */
  workers?: WorkerBinding;
}

export interface AppendResult {
  /** One id per event in the request, in order; a repeated key gives the first event's id. */
  ids: number[];
  /** The events this request actually appended (repeats excluded). */
  appended: StoredEvent[];
}

/** Why a request was refused, as the API answers it: 400 invalid, 403 not this key's to say, 409 against the state, 422 a reused idempotency key. */
export type RejectedStatus = 400 | 403 | 409 | 422;

/** Thrown inside an append to reject one request without touching the others in its group. */
export class AppendRejected extends Error {
  constructor(
    readonly status: RejectedStatus,
    message: string,
    readonly details?: { index: number; reason: string }[],
    /** The API's error code when the status alone does not say it (e.g. `idempotency_key_reused`). */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A key already used for another event: the whole request is refused, as payment APIs do, rather than answered with the first event. */
export function keyReused(key: string, firstId: number, index: number, count: number): AppendRejected {
  const reason = `idempotency key "${key}" was already used for a different event (id ${firstId}); a key stands for one event: send that event again, or use a new key`;
  return new AppendRejected(
    422,
    count === 1 ? reason : `event ${index} of ${count}: ${reason}; nothing was appended`,
    count === 1 ? undefined : [{ index, reason }],
    "idempotency_key_reused",
  );
}

export interface Retained {
  types: { type: string; count: number }[];
  latest: number | null;
}

/**
 * The durable, append-only log. Implementations group concurrent appends
 * into one transaction, never make the event loop wait on the database, and
 * call every commit listener with committed events in id order (a large
 * group in several calls, one per turn of the loop); an append's promise
 * resolves only once the listeners have had its events, and so every
 * earlier one.
 */
export interface EventLog {
  append(tenant: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  read(query: ReadQuery): Promise<ReadPage>;
  /**
   * A page of one subject's history, newest first (see SubjectHistoryQuery): one seek of the
   * (tenant, subject, id) index however long the history or the log. Asynchronous: on PostgreSQL
   * the log is asked, since a node's replica keeps only its latest events.
   */
  subjectHistory(query: SubjectHistoryQuery): Promise<StoredEvent[]>;
  /** The same read as JSON stream frames, where the log has threads to make them (SQLite's readers). */
  readFrames?(query: ReadQuery): Promise<FramesPage>;
  /**
   * Highest id committed in the whole log: the position every state read and
   * stream reports. Ids are shared by all tenants, so one head serves them all.
   */
  head(): number;
  /**
   * Runs synchronous state reads (projection queries) and reads the head in
   * one snapshot of the database, so the state is exactly the log through
   * `head`: a client that renders it and streams from `head` sees no gap and
   * no duplicate, however the writer commits meanwhile. `read` is given that
   * head, for a render that shows which position it is.
   */
  atHead<T>(read: (head: number) => T): { head: number; value: T };
  /**
   * Lowest id still retained for the tenant (or any tenant when null), or null when none is.
   * Asynchronous: on PostgreSQL a node's replica holds only recent events, and the log is asked.
   */
  oldest(tenant: string | null): Promise<number | null>;
  /** Highest id retention removed for the tenant, or for any tenant when null. */
  prunedThrough(tenant: string | null): number;
  /**
   * What the log retains of a tenant: its events by type, from the type
   * summary (never by counting events), and its latest id. On PostgreSQL the
   * log is asked: a node's replica holds recent events only and never sees
   * retention's deletes, so its own summary only grows.
   */
  retained(tenant: string): Promise<Retained>;
  onCommit(listener: (events: StoredEvent[]) => void): void;
  /** Resolves when every append accepted so far has committed or failed. */
  drain(): Promise<void>;
  /** Refuses new appends (those accepted still commit). */
  close(): void;
  /** After close(): waits for accepted appends, then releases threads and connections. */
  stop(): Promise<void>;
  /**
   * Asks the log's threads, if it has any, for a full garbage collection: a burst's events passed
   * through them, and an idle thread allocates nothing, so it would keep what they took (see MemoryRelease).
   * One thread after the other, resolving when the last is done: collections at once would share the
   * machine's cores with each other and with the main thread's, and each would take several times as long.
   */
  collectGarbage(): Promise<void>;
}
