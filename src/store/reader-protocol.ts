import type { StoredEventColumns } from "./event-columns.js";
import type { ReadQuery } from "./event-log.js";

/** Main thread → reader thread. */
export type ToReader = { op: "read"; id: number; query: ReadQuery } | { op: "stop" };

/** Reader thread → main thread. */
export type FromReader =
  | { op: "ready" }
  | { op: "page"; id: number; events: StoredEventColumns; through: number }
  | { op: "error"; id: number; message: string }
  | { op: "stopped" };
