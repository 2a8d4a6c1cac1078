import type { StoredEventColumns } from "./event-columns.js";
import type { ReadQuery } from "./event-log.js";

/** Main thread → reader thread. */
export type ToReader = { op: "read"; id: number; query: ReadQuery } | { op: "checkpoint"; id: number } | { op: "gc" } | { op: "stop" };

/** A WAL checkpoint's outcome, in pages: the WAL's length, and how much of it is now in the database file. */
export interface CheckpointResult {
  walPages: number;
  checkpointedPages: number;
}

/** Reader thread → main thread. */
export type FromReader =
  | { op: "ready" }
  | { op: "page"; id: number; events: StoredEventColumns; through: number }
  | ({ op: "checkpointed"; id: number } & CheckpointResult)
  | { op: "error"; id: number; message: string }
  | { op: "stopped" };
