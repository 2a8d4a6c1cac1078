import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createProjector, isPlainType } from "../domain/projections.js";
import type { NewEvent, StoredEvent } from "../event.js";
import type { Logger } from "../logger.js";
import type { TurnBudget } from "../turn-budget.js";
import { CommitListeners } from "./commit-listeners.js";
import type { AppendOptions, AppendResult, EventLog, ReadPage, ReadQuery, Retained, SubjectHistoryQuery } from "./event-log.js";
import { PostgresAccess } from "./postgres-access.js";
import { PostgresLog } from "./postgres-log.js";
import { migratePostgres } from "./postgres-migrate.js";
import { PostgresReader } from "./postgres-reads.js";
import { readPostgres, REPLICA_TABLES } from "./replica-tables.js";
import { Replica } from "./replica.js";
import { ShuttingDown } from "./sqlite-event-log.js";
import { postgresSubjectHistory } from "./subject-history.js";

export interface PostgresEventLogOptions {
  url: string;
  logger: Logger;
  /** The loop's time per turn, shared with the fan-out (see TurnBudget): committed pages are fanned out in slices of it. */
  turn: TurnBudget;
  /** How often the log is read without a notification (see PostgresLog). */
  pollMs?: number;
}

/**
 * The event log of a node of a cluster on PostgreSQL. Appends go to
 * PostgreSQL (PostgresLog: group commit, every projection in the append
 * transaction); history reads too (PostgresReader). Every committed event,
 * this node's or another's, is applied to the node's replica (see Replica)
 * and then handed to the commit listeners (fan-out, the domains' timers),
 * so an append resolves after its events are in the replica and fanned
 * out, as on SQLite. The head, `atHead` snapshots and retention's marks are
 * the replica's: the state a node shows is always the log through its head.
 * Past events are always read from PostgreSQL, never from the replica's
 * `events` (see REPLICA_EVENTS).
 */
export class PostgresEventLog implements EventLog {
  readonly #listeners: CommitListeners;
  readonly #reader: PostgresReader;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  #closed = false;

  private constructor(
    private readonly options: PostgresEventLogOptions,
    readonly pool: pg.Pool,
    readonly replica: Replica,
    readonly access: PostgresAccess,
    private readonly log: PostgresLog,
    private readonly dir: string,
  ) {
    this.#reader = new PostgresReader(pool);
    this.#listeners = new CommitListeners(options.turn, options.logger);
    log.onCommit(async (events) => {
      await replica.apply(events);
      await this.#listeners.deliver(events);
    });
  }

  /**
   * Migrates PostgreSQL, makes this node's replica from one snapshot (the
   * head and every table but the log, read in one REPEATABLE READ
   * transaction), and delivers every event committed after that head.
   */
  static async open(options: PostgresEventLogOptions): Promise<PostgresEventLog> {
    const { url, logger } = options;
    await migratePostgres(url);
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on("error", (err) => logger.warn("a PostgreSQL connection failed", { error: err.message }));
    const dir = mkdtempSync(join(tmpdir(), "switchboard-replica-"));
    try {
      const snapshot = await takeSnapshot(pool);
      const replica = await Replica.open(join(dir, "replica.db"), snapshot, logger);
      const access = await PostgresAccess.start(url, pool, replica, logger);
      const project = createProjector();
      const log = await PostgresLog.open({ url, logger, after: snapshot.head, pollMs: options.pollMs, hooks: [project], plain: isPlainType });
      logger.info("replica ready", { head: snapshot.head, path: join(dir, "replica.db") });
      return new PostgresEventLog(options, pool, replica, access, log, dir);
    } catch (err) {
      await pool.end().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Whether PostgreSQL is reachable (the log's listening connection is up). */
  ready(): boolean {
    return this.log.ready();
  }

  onCommit(listener: (events: StoredEvent[]) => void): void {
    this.#listeners.add(listener);
  }

  async append(tenant: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    if (this.#closed) throw new ShuttingDown();
    this.#inFlight++;
    try {
      return await this.log.append(tenant, events, options);
    } finally {
      if (--this.#inFlight === 0) for (const done of this.#idle.splice(0)) done();
    }
  }

  read(q: ReadQuery): Promise<ReadPage> {
    return this.#reader.read(q, this.head());
  }

  /** From PostgreSQL: the replica's `events` keeps the latest of the whole log only, and none from before the node started. */
  subjectHistory(q: SubjectHistoryQuery): Promise<StoredEvent[]> {
    return postgresSubjectHistory(this.pool, q);
  }

  head(): number {
    return this.replica.head();
  }

  atHead<T>(read: (head: number) => T): { head: number; value: T } {
    return this.replica.atHead(read);
  }

  async oldest(tenant: string | null): Promise<number | null> {
    const { rows } =
      tenant === null
        ? await this.pool.query<{ oldest: number | null }>("SELECT min(id) AS oldest FROM events")
        : await this.pool.query<{ oldest: number | null }>("SELECT min(id) AS oldest FROM events WHERE tenant = $1", [tenant]);
    return rows[0].oldest;
  }

  prunedThrough(tenant: string | null): number {
    return this.replica.prunedThrough(tenant);
  }

  async retained(tenant: string): Promise<Retained> {
    const [types, latest] = await Promise.all([
      this.pool.query<{ type: string; count: number }>("SELECT type, count FROM event_type_counts WHERE tenant = $1", [tenant]),
      this.pool.query<{ latest: number | null }>("SELECT max(id) AS latest FROM events WHERE tenant = $1", [tenant]),
    ]);
    return { types: types.rows, latest: latest.rows[0].latest };
  }

  drain(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((done) => this.#idle.push(done));
  }

  close(): void {
    this.#closed = true;
  }

  collectGarbage(): Promise<void> {
    return this.replica.collectGarbage();
  }

  async stop(): Promise<void> {
    this.#closed = true;
    await this.drain();
    await this.log.stop();
    await this.access.stop();
    await this.replica.stop();
    await this.pool.end();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The head and every table but the log, in one snapshot: the replica starts exactly at that head. */
async function takeSnapshot(pool: pg.Pool) {
  const client = await pool.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const { rows } = await client.query<{ head: number | null }>("SELECT max(id) AS head FROM events");
    const tables = await readPostgres(client, REPLICA_TABLES);
    await client.query("COMMIT");
    return { head: rows[0].head ?? 0, tables };
  } finally {
    client.release();
  }
}
