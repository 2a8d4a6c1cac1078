import type { WorkerBinding } from "../worker-binding.js";
import type { NewEventColumns, StoredEventColumns } from "./event-columns.js";
import type { TableCopy } from "./replica-tables.js";
import type { RetentionOptions } from "./retention.js";
import type { SessionChange } from "./sessions.js";
import type { AppendOutcome } from "./sqlite-writer.js";

/** What the writer thread is started with. */
export interface WriterOptions {
  path: string;
  durability: "full" | "normal";
  /** Retention runs in the writer, between commit groups (its deletes are writes too). */
  retention: Omit<RetentionOptions, "clock">;
  /**
   * A node's replica of PostgreSQL (see PostgresEventLog): the writer appends nothing of its own and runs
   * no retention; it applies what PostgreSQL committed (`apply`) and the access tables it is sent (`load`).
   */
  replica?: boolean;
  /** Another connection checkpoints the WAL (see WalCheckpoints): the writer's commits do only past a backstop. */
  checkpointedElsewhere?: boolean;
}

/**
 * A request, or part of one: a large batch is sent in several chunks, so no
 * single message is costly to clone; `more` says that others follow.
 */
export interface AppendPart {
  seq: number;
  tenant: string;
  /** The workers the publishing key may speak for (null: not bound); the same on every part of a request. */
  workers: WorkerBinding;
  events: NewEventColumns;
  more: boolean;
}

/** Main thread → writer thread. */
export type ToWriter =
  /** Every part the main thread had for the writer in one turn of its loop: one message, and one group when the writer is idle. */
  | { op: "append"; parts: AppendPart[] }
  /** A small write besides the log (console sessions), applied between commit groups; answered with `written`. */
  | { op: "write"; id: number; change: SessionChange }
  /** Replica only: events PostgreSQL committed, to apply with their ids; answered with `applied`. */
  | { op: "apply"; id: number; events: StoredEventColumns }
  /** Replica only: tables to replace whole (the access tables, reloaded from PostgreSQL); answered with `applied`. */
  | { op: "load"; id: number; tables: TableCopy[] }
  /** A full garbage collection, after a burst (see EventLog.collectGarbage); answered with `collected`. */
  | { op: "gc"; id: number }
  /** Finish what was accepted, stop retention, close the database, exit. */
  | { op: "stop" };

/** Writer thread → main thread. */
export type FromWriter =
  | { op: "ready" }
  /** One group committed (or some of its requests rejected): outcomes in commit order, ids ascending. */
  | { op: "committed"; ts: number; outcomes: AppendOutcome[] }
  /** A group's transaction failed as a whole: nothing of these requests was committed. */
  | { op: "failed"; seqs: number[]; message: string }
  /** A `write` was applied (`changed`: rows it ended) or failed (`error`). */
  | { op: "written"; id: number; changed: number; error?: string }
  /** An `apply` or `load` is done (or failed, with `error`). */
  | { op: "applied"; id: number; error?: string }
  | { op: "collected"; id: number }
  | { op: "log"; level: "debug" | "info" | "warn" | "error"; msg: string; fields?: Record<string, unknown> }
  | { op: "stopped" };
