import type { NewEvent } from "../event.js";
import type { RetentionOptions } from "./retention.js";
import type { AppendOutcome } from "./sqlite-writer.js";

/** What the writer thread is started with. */
export interface WriterOptions {
  path: string;
  durability: "full" | "normal";
  /** Retention runs in the writer, between commit groups (its deletes are writes too). */
  retention: Omit<RetentionOptions, "clock">;
}

/** Main thread → writer thread. */
export type ToWriter =
  /** Part of a request: a large batch arrives in several chunks, so no single message is costly to send; `more` says others follow. */
  | { op: "append"; seq: number; tenant: string; events: NewEvent[]; more: boolean }
  /** Finish what was accepted, stop retention, close the database, exit. */
  | { op: "stop" };

/** Writer thread → main thread. */
export type FromWriter =
  | { op: "ready" }
  /** One group committed (or some of its requests rejected): outcomes in commit order, ids ascending. */
  | { op: "committed"; ts: number; outcomes: AppendOutcome[] }
  /** A group's transaction failed as a whole: nothing of these requests was committed. */
  | { op: "failed"; seqs: number[]; message: string }
  | { op: "log"; level: "debug" | "info" | "warn" | "error"; msg: string; fields?: Record<string, unknown> }
  | { op: "stopped" };
