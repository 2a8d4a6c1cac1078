import type { StoredEventColumns } from "./event-columns.js";
import type { ReadQuery } from "./event-log.js";

/** Main thread → reader thread. */
export type ToReader =
  | { op: "read"; id: number; query: ReadQuery }
  /** The same read, answered as the events' JSON stream frames (see FramesPage). */
  | { op: "frames"; id: number; query: ReadQuery }
  | { op: "checkpoint"; id: number }
  | { op: "gc" }
  | { op: "stop" };

/** A WAL checkpoint's outcome, in pages: the WAL's length, and how much of it is now in the database file. */
export interface CheckpointResult {
  walPages: number;
  checkpointedPages: number;
}

/** Reader thread → main thread. */
export type FromReader =
  | { op: "ready" }
  | { op: "page"; id: number; events: StoredEventColumns; through: number }
  /** Transferred, not copied: the typed arrays' buffers move to the main thread. */
  | { op: "frames"; id: number; bytes: Uint8Array; ends: Uint32Array; ids: Float64Array; through: number }
  | ({ op: "checkpointed"; id: number } & CheckpointResult)
  | { op: "error"; id: number; message: string }
  | { op: "stopped" };
