import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { NewEvent, StoredEvent } from "../event.js";
import type { Logger } from "../logger.js";
import type { Db } from "./db.js";
import { CommitQueue } from "./commit-groups.js";
import { AppendRejected, keyReused, type AppendOptions, type AppendResult } from "./event-log.js";
import { eventOfRow, type EventRow } from "./read-plan.js";
import { onlyPlain, type AppendRequest } from "./sqlite-writer.js";
import { countType, type GroupCounts } from "./type-counts.js";

// int8 (bigint) comes back as text by default, as it may pass 2^53; our ids and millisecond times never do.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * The advisory lock every node's append transaction takes first: appends
 * are serialized across the cluster, so ids become visible in the order
 * they were handed out. Without it two writers could commit 101 before 100,
 * and a reader resuming after 101 would never see 100 (a well-known bug of
 * event stores on PostgreSQL). Group commit keeps the serialization cheap:
 * one lock per group of requests, not per event.
 */
export const APPEND_LOCK = 0x5357_4c4f; // "SWLO"

/** The channel every node listens on; a commit notifies it with its last id. */
export const COMMIT_CHANNEL = "switchboard_log";

/**
 * Runs inside the append transaction for every new event, before commit
 * (the PostgreSQL form of AppendHook), given the transaction's connection
 * as drizzle's: a projection updates its tables here (the same code as on
 * SQLite, whose table objects PostgreSQL's mirror matches column for
 * column); throwing AppendRejected rejects the whole request, and only it.
 */
export type PostgresAppendHook = (db: Db, event: StoredEvent, index: number, request: AppendRequest) => Promise<void> | void;

export interface PostgresLogOptions {
  url: string;
  logger: Logger;
  hooks?: PostgresAppendHook[];
  /**
   * Types no hook acts on (generic events). A request of only such events,
   * none with an idempotency key, cannot be refused: it needs no savepoint,
   * and its rows join the group's one INSERT.
   */
  plain?: (type: string) => boolean;
  /** How often the log is read even without a notification: a missed one costs this much latency, never an event. */
  pollMs?: number;
  /** Connections for appends and reads. */
  poolSize?: number;
  /** Where delivery starts (events after it): a replica's snapshot head. Absent: the log's end at open. */
  after?: number;
  /** What a commit group's events are stamped with (tests fix it). */
  clock?: () => number;
}

interface Pending extends AppendRequest {
  resolve: (result: AppendResult) => void;
  reject: (error: Error) => void;
}

const COLUMNS = "id, tenant, type, subject, data, key, ts";
/** Events read per query when catching up; the next query starts where it ended. */
const TAIL_PAGE = 1_000;

/**
 * The log on PostgreSQL, shared by every node. Appends of one node are
 * grouped into one transaction at a time (group commit) under APPEND_LOCK;
 * committed events reach this node's listeners by reading the log by
 * position (`id > delivered`, in id order) whenever a commit is notified on
 * COMMIT_CHANNEL, by this node or another, and every `pollMs` regardless.
 * The notification's payload is never trusted alone: it only wakes the
 * reader. An append resolves once its events have been delivered here.
 */
export class PostgresLog {
  readonly #pool: pg.Pool;
  readonly #listeners: ((events: StoredEvent[]) => Promise<void> | void)[] = [];
  readonly #hooks: PostgresAppendHook[];
  readonly #queue = new CommitQueue<Pending>();
  #committing = false;
  /** Highest id delivered to this node's listeners: its head. */
  #delivered = 0;
  /** Events this node committed and has not delivered yet, by the first id of each group's. */
  readonly #own = new Map<number, StoredEvent[]>();
  /** Appends committed and waiting for their last id to be delivered. */
  #awaiting: { through: number; done: () => void }[] = [];
  #tailing = false;
  #tailAgain = false;
  #listener: pg.Client | null = null;
  #poll: NodeJS.Timeout | null = null;
  #connected = false;
  #closed = false;
  #seq = 0;
  /** Groups committed and not yet answered (see #commitGroup): stop() waits for them too. */
  readonly #answering = new Set<Promise<void>>();
  /** Resolves when the queue is committed: what stop() waits for. */
  #idle: (() => void)[] = [];

  private constructor(private readonly options: PostgresLogOptions) {
    this.#pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 4 });
    // An idle connection that dies (the server restarted) must not take the process down.
    this.#pool.on("error", (err) => options.logger.warn("a PostgreSQL connection failed", { error: err.message }));
    this.#hooks = options.hooks ?? [];
  }

  /** Connects, starts from `after` or the log's current end (nothing before it is delivered), and listens for commits. */
  static async open(options: PostgresLogOptions): Promise<PostgresLog> {
    const log = new PostgresLog(options);
    if (options.after !== undefined) log.#delivered = options.after;
    else {
      const { rows } = await log.#pool.query<{ head: number | null }>("SELECT max(id) AS head FROM events");
      log.#delivered = rows[0].head ?? 0;
    }
    await log.#listen();
    log.#poll = setInterval(() => log.#wake(), options.pollMs ?? 1_000);
    log.#poll.unref();
    return log;
  }

  /**
   * Called with every committed event, in id order, page by page; a listener
   * that returns a promise (applying the page to a replica) is awaited before
   * the next page, and before the appends of those events resolve.
   */
  onCommit(listener: (events: StoredEvent[]) => Promise<void> | void): void {
    this.#listeners.push(listener);
  }

  /** Highest id this node has delivered: the position its streams and state reads report. */
  head(): number {
    return this.#delivered;
  }

  /** Whether the database is reachable (the commit listener's connection is up): `/healthz` says not ready otherwise. */
  ready(): boolean {
    return this.#connected;
  }

  append(tenant: string, events: NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new Error("the server is shutting down"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ seq: ++this.#seq, tenant, events, workers: options.workers ?? null, resolve, reject });
      if (!this.#committing) void this.#commitQueued();
    });
  }

  /** Events of a tenant (or every tenant) after a position, oldest first. */
  async read(q: { tenant: string | null; after: number; limit: number }): Promise<StoredEvent[]> {
    const { rows } = q.tenant === null
      ? await this.#pool.query<EventRow>({ text: `SELECT ${COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2`, values: [q.after, q.limit], rowMode: "array" })
      : await this.#pool.query<EventRow>({ text: `SELECT ${COLUMNS} FROM events WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3`, values: [q.tenant, q.after, q.limit], rowMode: "array" });
    return rows.map(eventOfRow);
  }

  /** Commits what is queued a group at a time (see CommitQueue), until the queue is empty. */
  async #commitQueued(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#queue.length > 0) await this.#commitGroup(this.#queue.take());
    } finally {
      this.#committing = false;
      for (const done of this.#idle.splice(0)) done();
    }
  }

  async #commitGroup(group: Pending[]): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      for (const p of group) p.reject(new Error(`the database is unreachable: ${(err as Error).message}`));
      return;
    }
    const outcomes: (AppendResult | AppendRejected)[] = [];
    let last = 0;
    try {
      // Ids are handed out here, under the lock, from the log's high-water mark: a refused request's ids
      // go to the next one, as in SQLite, rather than leaving the gaps a sequence would. The statements
      // that take no values from a client go together, one round trip each at the start and at the end:
      // a round trip also waits for this node's busy loop to read its answer.
      const opened = (await client.query(
        `BEGIN; SELECT pg_advisory_xact_lock(${APPEND_LOCK}); SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS last FROM events_id_seq`,
      )) as unknown as pg.QueryResult<{ last: string }>[];
      const db = drizzle(client) as unknown as Db;
      const ts = (this.options.clock ?? Date.now)();
      const counts: GroupCounts = new Map();
      const ids = { next: Number(opened[2].rows[0].last) + 1 };
      const first = ids.next;
      // The rows of plain requests, loaded together (COPY): a group of single-event publishes costs a few
      // round trips in all, not three per request.
      const plainRows: CopyRow[] = [];
      for (const request of group) {
        if (this.#isPlain(request)) {
          const result = appendPlain(request, ts, ids, plainRows);
          outcomes.push(result);
          for (const e of result.appended) countType(counts, e.tenant, e.type);
          last = Math.max(last, ids.next - 1);
          if (plainRows.length >= INSERT_ROWS) await insertEvents(client, ts, plainRows.splice(0));
          continue;
        }
        await client.query("SAVEPOINT request");
        const before = ids.next;
        try {
          const result = await this.#appendOne(client, db, request, ts, ids);
          await client.query("RELEASE SAVEPOINT request");
          outcomes.push(result);
          for (const id of result.ids) last = Math.max(last, id);
          for (const e of result.appended) countType(counts, e.tenant, e.type);
        } catch (err) {
          if (!(err instanceof AppendRejected)) throw err;
          await client.query("ROLLBACK TO SAVEPOINT request");
          ids.next = before;
          outcomes.push(err);
        }
      }
      await insertEvents(client, ts, plainRows);
      await recordAppended(client, counts);
      // The mark never goes back (not even when retention empties the log): no id is ever handed out twice.
      // The notification is sent at commit, to every node (this one too): its payload only wakes readers,
      // who read by position. Both values are integers this node computed.
      const closing = [
        ...(ids.next > first ? [`SELECT setval('events_id_seq', ${ids.next - 1})`] : []),
        ...(last > 0 ? [`SELECT pg_notify('${COMMIT_CHANNEL}', '${last}')`] : []),
        "COMMIT",
      ];
      await client.query(closing.join("; "));
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      client.release(true);
      for (const p of group) p.reject(new Error(`the commit failed: ${(err as Error).message}`));
      return;
    }
    client.release();
    // What this group committed is known here to the byte: the tail delivers it from memory when it comes to it.
    const mine = outcomes.flatMap((o) => (o instanceof AppendRejected ? [] : o.appended));
    if (mine.length > 0) this.#own.set(mine[0].id, mine);
    // Answered once this node has delivered through the group's last id, so listeners see the events first.
    // The next group commits meanwhile: its fsync need not wait for this one's delivery.
    const answered = this.#deliveredThrough(last).then(() =>
      group.forEach((p, i) => {
        const outcome = outcomes[i];
        if (outcome instanceof AppendRejected) p.reject(outcome);
        else p.resolve(outcome);
      }),
    );
    this.#answering.add(answered);
    void answered.finally(() => this.#answering.delete(answered));
  }

  async #appendOne(client: pg.PoolClient, db: Db, request: Pending, ts: number, next: { next: number }): Promise<AppendResult> {
    const { tenant, events } = request;
    const keys = [...new Set(events.map((e) => e.key).filter((k): k is string => k !== null))];
    const known = new Map<string, { id: number; fingerprint: string | null }>();
    if (keys.length > 0) {
      const { rows } = await client.query<{ key: string; id: number; fingerprint: string | null }>(
        "SELECT key, id, key_fingerprint AS fingerprint FROM events WHERE tenant = $1 AND key = ANY($2)",
        [tenant, keys],
      );
      for (const row of rows) known.set(row.key, row);
    }
    const ids: number[] = [];
    const appended: StoredEvent[] = [];
    // Rows are loaded many at a time (COPY), not one round trip each: projections never read the log itself,
    // and a request that is refused halfway is rolled back to its savepoint whatever was sent.
    const rows: CopyRow[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      const fingerprint = e.key === null ? null : (e.fingerprint ?? null);
      const existing = e.key === null ? undefined : known.get(e.key);
      if (existing) {
        if (fingerprint !== null && existing.fingerprint !== null && fingerprint !== existing.fingerprint) throw keyReused(e.key!, existing.id, i, events.length);
        ids.push(existing.id);
        continue;
      }
      const id = next.next++;
      const stored: StoredEvent = { id, tenant, type: e.type, subject: e.subject, data: e.data, key: e.key, ts };
      rows.push([id, tenant, e.type, e.subject, e.data, e.key, fingerprint]);
      if (rows.length === INSERT_ROWS) await insertEvents(client, ts, rows.splice(0));
      if (e.key !== null) known.set(e.key, { id: stored.id, fingerprint });
      for (const hook of this.#hooks) await hook(db, stored, i, request);
      ids.push(stored.id);
      appended.push(stored);
    }
    await insertEvents(client, ts, rows);
    return { ids, appended };
  }

  /** Whether a request can only succeed (see PostgresLogOptions.plain). */
  #isPlain(request: Pending): boolean {
    const plain = this.options.plain;
    return plain !== undefined && onlyPlain(request.events, plain);
  }

  /** Resolves once this node has delivered every event through `id`. */
  #deliveredThrough(id: number): Promise<void> {
    if (id <= this.#delivered) return Promise.resolve();
    return new Promise((done) => {
      this.#awaiting.push({ through: id, done });
      this.#wake();
    });
  }

  /** Reads and delivers what was committed since the last delivery; a wake-up during a read reads again after it. */
  #wake(): void {
    if (this.#tailing) {
      this.#tailAgain = true;
      return;
    }
    this.#tailing = true;
    void this.#tail().finally(() => {
      this.#tailing = false;
      if (this.#tailAgain) {
        this.#tailAgain = false;
        this.#wake();
      }
    });
  }

  async #tail(): Promise<void> {
    for (;;) {
      let rows: StoredEvent[];
      const own = this.#own.get(this.#delivered + 1);
      if (own) {
        // The next events are this node's own group, committed as they stand: no need to read them back.
        this.#own.delete(own[0].id);
        rows = own;
      } else {
        try {
          const page = await this.#pool.query<EventRow>({ text: `SELECT ${COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2`, values: [this.#delivered, TAIL_PAGE], rowMode: "array" });
          // Built as own events are (see eventOfRow): the hub sees one kind of event object.
          rows = page.rows.map(eventOfRow);
        } catch (err) {
          this.options.logger.warn("reading the log failed; retrying at the next wake-up", { error: (err as Error).message });
          return;
        }
      }
      if (rows.length === 0) return;
      for (const listener of this.#listeners) {
        try {
          await listener(rows);
        } catch (err) {
          this.options.logger.error("commit listener failed", { error: String(err) });
        }
      }
      this.#delivered = rows[rows.length - 1].id;
      // Own groups read from the database instead (another node's commit came first in the same page) are done with.
      for (const first of this.#own.keys()) if (first <= this.#delivered) this.#own.delete(first);
      const done = this.#awaiting.filter((w) => w.through <= this.#delivered);
      this.#awaiting = this.#awaiting.filter((w) => w.through > this.#delivered);
      for (const w of done) w.done();
      // After an own group, only another one is known to follow; a commit of another node wakes the tail again.
      if (own ? !this.#own.has(this.#delivered + 1) : rows.length < TAIL_PAGE) return;
    }
  }

  /** A connection of its own that LISTENs; lost, it is replaced, and the log is read for what was missed meanwhile. */
  async #listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url });
    client.on("notification", () => this.#wake());
    client.on("error", (err) => {
      this.options.logger.warn("lost the database connection; reconnecting", { error: err.message });
      this.#lost(client);
    });
    client.on("end", () => this.#lost(client));
    await client.connect();
    await client.query(`LISTEN ${COMMIT_CHANNEL}`);
    this.#listener = client;
    this.#connected = true;
    // Commits between the last read and the LISTEN were notified to nobody: read for them now.
    this.#wake();
  }

  #lost(client: pg.Client): void {
    if (this.#listener !== client || this.#closed) return;
    this.#listener = null;
    this.#connected = false;
    const retry = (): void => {
      if (this.#closed) return;
      this.#listen().catch(() => setTimeout(retry, 500).unref());
    };
    setTimeout(retry, 100).unref();
  }

  /** Waits for what was accepted, then closes every connection. */
  async stop(): Promise<void> {
    this.#closed = true;
    if (this.#committing) await new Promise<void>((done) => this.#idle.push(done));
    await Promise.all(this.#answering);
    if (this.#poll) clearInterval(this.#poll);
    const listener = this.#listener;
    this.#listener = null;
    await listener?.end().catch(() => undefined);
    await this.#pool.end();
  }
}

/** Rows per COPY while appending: a large group's rows go in pieces, so no one text grows without bound. */
const INSERT_ROWS = 1_000;

/** An event's columns as appended (all of a group share its timestamp): id, tenant, type, subject, data, key, key_fingerprint. */
type CopyRow = [number, string, string, string | null, string, string | null, string | null];

/**
 * Inserts rows of a group's events with COPY, PostgreSQL's bulk load: it
 * reads rows as text, with no statement to plan and no expression per row.
 * Measured with 2,400-row groups into the events table and its indexes,
 * beside one INSERT of a jsonb array: about 10 against 13–16 µs of
 * PostgreSQL's CPU a row, and a group inserted in 30 rather than 36–45 ms.
 */
function insertEvents(client: pg.ClientBase, ts: number, rows: readonly CopyRow[]): Promise<void> {
  if (rows.length === 0) return Promise.resolve();
  let text = "";
  for (const [id, tenant, type, subject, data, key, fp] of rows) {
    text += `${id}\t${copyField(tenant)}\t${copyField(type)}\t${copyField(subject)}\t${copyField(data)}\t${copyField(key)}\t${copyField(fp)}\t${ts}\n`;
  }
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom("COPY events (id, tenant, type, subject, data, key, key_fingerprint, ts) FROM STDIN"));
    stream.on("finish", resolve).on("error", reject);
    stream.end(text);
  });
}

/** A column in COPY's text format: NULL is \N, and a backslash, newline, carriage return or tab is escaped. */
function copyField(value: string | null): string {
  if (value === null) return "\\N";
  return value.replace(COPY_ESCAPES, (c) => COPY_ESCAPED[c]);
}

const COPY_ESCAPES = /[\\\n\r\t]/g;
const COPY_ESCAPED: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** A plain request's ids and events, its rows added to `rows` to be inserted with the group's. */
function appendPlain(request: Pending, ts: number, ids: { next: number }, rows: CopyRow[]): AppendResult {
  const out: AppendResult = { ids: [], appended: [] };
  for (const e of request.events) {
    const id = ids.next++;
    rows.push([id, request.tenant, e.type, e.subject, e.data, null, null]);
    out.ids.push(id);
    out.appended.push({ id, tenant: request.tenant, type: e.type, subject: e.subject, data: e.data, key: null, ts });
  }
  return out;
}

/** The type summary (what globs resolve against) for a commit group: one upsert for every distinct tenant and type. */
async function recordAppended(client: pg.PoolClient, counts: GroupCounts): Promise<void> {
  const tenants: string[] = [];
  const types: string[] = [];
  const ns: number[] = [];
  for (const [tenant, byType] of counts) {
    for (const [type, n] of byType) {
      tenants.push(tenant);
      types.push(type);
      ns.push(n);
    }
  }
  if (tenants.length === 0) return;
  await client.query(
    `INSERT INTO event_type_counts (tenant, type, count) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
     ON CONFLICT (tenant, type) DO UPDATE SET count = event_type_counts.count + excluded.count`,
    [tenants, types, ns],
  );
}
