import type { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import type { StoredEvent } from "../event.js";
import type { Logger } from "../logger.js";
import { openDb, type Db } from "./db.js";
import { packStored } from "./event-columns.js";
import { loadSqlite, type TableCopy } from "./replica-tables.js";
import type { SessionChange } from "./sessions.js";
import { startThread } from "./threads.js";
import type { FromWriter, ToWriter, WriterOptions } from "./writer-protocol.js";
import { TurnMemo } from "../turn-memo.js";

/**
 * A node's own SQLite copy of PostgreSQL's state, for every synchronous
 * read (console panels, API state, `atHead`, access checks): the projection
 * tables and the access tables, through the node's head. Made fresh at every
 * start from one snapshot of PostgreSQL, then kept current by the log's
 * writer thread in replica mode, which applies committed events with their
 * ids (so `sqlite_sequence` is the head, as on SQLite) and reloads the
 * access tables when told. The main thread only reads it.
 */
export class Replica {
  readonly #sqlite: Database.Database;
  readonly #headOf: Database.Statement;
  readonly #getPruned: Database.Statement;
  readonly #getMaxPruned: Database.Statement;
  readonly #pruned = new TurnMemo<string | null, number>();
  readonly #snapshot: (read: (head: number) => unknown) => { head: number; value: unknown };
  readonly #waiting = new Map<number, { resolve: (value: number) => void; reject: (error: Error) => void }>();
  #writer!: Worker;
  #seq = 0;
  #stopped: (() => void) | null = null;

  private constructor(
    readonly db: Db,
    private readonly logger: Logger,
  ) {
    const sqlite = (this.#sqlite = db.$client);
    this.#headOf = sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck();
    this.#getPruned = sqlite.prepare("SELECT pruned_through FROM tenants WHERE slug = ?").pluck();
    this.#getMaxPruned = sqlite.prepare("SELECT coalesce(max(pruned_through), 0) FROM tenants").pluck();
    this.#snapshot = sqlite.transaction((read: (head: number) => unknown) => {
      const head = this.head();
      return { head, value: read(head) };
    });
  }

  /** Makes the replica at `path` (a new file) from a snapshot of PostgreSQL's tables through `head`, and starts its writer. */
  static async open(path: string, snapshot: { head: number; tables: TableCopy[] }, logger: Logger): Promise<Replica> {
    const db = openDb(path, { durability: "normal" });
    db.$client.pragma("foreign_keys = OFF");
    loadSqlite(db.$client, snapshot.tables);
    // The head, as if the log's events through it had been appended here.
    db.$client.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)").run(snapshot.head);
    const replica = new Replica(db, logger);
    await replica.#start(path);
    return replica;
  }

  head(): number {
    return (this.#headOf.get() as number | undefined) ?? 0;
  }

  atHead<T>(read: (head: number) => T): { head: number; value: T } {
    return this.#snapshot(read) as { head: number; value: T };
  }

  /** From the tenants' `pruned_through`, which retention sets on PostgreSQL and the access reload brings here. */
  prunedThrough(tenant: string | null): number {
    // Asked by every catch-up page of every replaying stream (a thousand at once after a burst): once a turn will do.
    return this.#pruned.get(tenant, (t) => ((t === null ? this.#getMaxPruned.get() : this.#getPruned.get(t)) as number | undefined) ?? 0);
  }

  /** Applies committed events (see ReplicaWriter); resolves once they are in the replica. */
  apply(events: StoredEvent[]): Promise<void> {
    return this.#ask((id) => ({ op: "apply", id, events: packStored(events) })).then(() => undefined);
  }

  /** Replaces whole tables (the access tables reloaded from PostgreSQL). */
  load(tables: TableCopy[]): Promise<void> {
    return this.#ask((id) => ({ op: "load", id, tables })).then(() => undefined);
  }

  /** Applies a console session change PostgreSQL has already taken; resolves with the sessions it ended here. */
  write(change: SessionChange): Promise<number> {
    return this.#ask((id) => ({ op: "write", id, change }));
  }

  /** A full collection in the replica's writer thread (see EventLog.collectGarbage). */
  collectGarbage(): Promise<void> {
    return this.#ask((id) => ({ op: "gc", id })).then(() => undefined);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#stopped = resolve;
      this.#writer.postMessage({ op: "stop" } satisfies ToWriter);
    });
    this.#sqlite.close();
  }

  #ask(message: (id: number) => ToWriter): Promise<number> {
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#writer.postMessage(message(id));
    });
  }

  #answer(id: number, changed: number, error: string | undefined): void {
    const waiter = this.#waiting.get(id);
    this.#waiting.delete(id);
    if (error === undefined) waiter?.resolve(changed);
    else waiter?.reject(new Error(`the replica's write failed: ${error}`));
  }

  #start(path: string): Promise<void> {
    const options: WriterOptions = { path, durability: "normal", retention: { maxAgeMs: 0, maxEvents: 0, intervalMs: 60_000 }, replica: true };
    const writer = (this.#writer = startThread("./writer-thread.ts", options));
    return new Promise((ready, failed) => {
      writer.on("message", (message: FromWriter) => {
        switch (message.op) {
          case "ready":
            return ready();
          case "applied":
            return this.#answer(message.id, 0, message.error);
          case "collected":
            return this.#answer(message.id, 0, undefined);
          case "written":
            return this.#answer(message.id, message.changed, message.error);
          case "log":
            return this.logger[message.level](message.msg, message.fields);
          case "stopped":
            return this.#stopped?.();
        }
      });
      writer.once("error", (err) => {
        this.logger.error("the replica's writer thread failed", { error: err.message });
        failed(err);
        for (const id of [...this.#waiting.keys()]) this.#answer(id, 0, err.message);
      });
    });
  }
}
