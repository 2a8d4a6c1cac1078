import type { StoredEventColumns } from "./event-columns.js";
import type { ReadQuery } from "./event-log.js";

/** What a reader thread is started with. */
export interface ReaderOptions {
  path: string;
  /**
   * Where the reader writes frames pages (see FramesPage): `slots` slots of `slotBytes` each, shared
   * with the main thread, which hands one to each request and takes it back once the page is written.
   * Pages written there make no new memory for the main thread's collector to account for; a buffer
   * per page did, and V8 ran a full collection every few hundred milliseconds of a replay for it.
   */
  frames: SharedArrayBuffer;
  slotBytes: number;
}

/** Main thread → reader thread. */
export type ToReader =
  | { op: "read"; id: number; query: ReadQuery }
  /** The same read, answered as the events' JSON stream frames (see FramesPage), written in `slot` of the shared buffer (-1: none free). */
  | { op: "frames"; id: number; query: ReadQuery; slot: number }
  | { op: "checkpoint"; id: number }
  /** A full garbage collection, after a burst; answered with `collected`. */
  | { op: "gc"; id: number }
  | { op: "stop" };

/** A WAL checkpoint's outcome, in pages: the WAL's length, and how much of it is now in the database file. */
export interface CheckpointResult {
  walPages: number;
  checkpointedPages: number;
}

/** Reader thread → main thread. */
export type FromReader =
  | { op: "ready" }
  | { op: "page"; id: number; events: StoredEventColumns; through: number; prunedThrough?: number }
  /**
   * The frames are the first `length` bytes of `slot` in the shared buffer, or (slot -1: none was free,
   * or the first frame alone did not fit) `bytes`, transferred rather than copied.
   */
  | { op: "frames"; id: number; slot: number; length: number; bytes: Uint8Array | null; ends: number[]; ids: number[]; through: number; prunedThrough?: number }
  | ({ op: "checkpointed"; id: number } & CheckpointResult)
  | { op: "collected"; id: number }
  | { op: "error"; id: number; message: string }
  | { op: "stopped" };
