/**
 * Messages between the orchestrator (run.ts) and its load-client workers
 * (load-client.ts), over the child-process IPC channel. Each command gets
 * exactly one reply carrying the same `reqId`.
 */
import type { HistogramData } from "./histogram.js";

/** Where and how to send HTTP requests: the same for both servers apart from path and headers. */
export interface HttpTarget {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
}

export type Command =
  | { op: "subscribe"; group: string; target: HttpTarget; count: number; concurrency: number; timeoutMs: number; measureLatency: boolean }
  /** Zeroes a group's counters; with no group, only proves the worker is listening. */
  | { op: "reset"; group?: string }
  | { op: "waitFor"; group: string; id: number; timeoutMs: number }
  /** Closes a group's streams, or every stream when no group is named. */
  | { op: "close"; group?: string }
  | { op: "publish"; target: HttpTarget; mode: "steady" | "burst"; count: number; rate: number; batch: number; conns: number; timeoutMs: number }
  | { op: "ingest"; target: HttpTarget; mode: "single" | "ndjson"; conns: number; batch: number; durationMs: number }
  | { op: "replay"; target: HttpTarget; after: number; last: number; timeoutMs: number }
  /** Server pids to kill if the orchestrator dies without stopping them (SIGKILL leaves no exit handler). */
  | { op: "guard"; pids: number[] };

export interface SubscribeResult {
  opened: number;
  failed: number;
  /** First few failures, verbatim enough to report (status and body start, or the socket error). */
  failures: string[];
  elapsedMs: number;
}

export interface DeliveryResult {
  /** Event frames received since the last reset, over all connections. */
  delivered: number;
  latency: HistogramData;
  /** Wall-clock ms of the first and last event frame since the reset (0 when none). */
  firstRecv: number;
  lastRecv: number;
  /** Connections the server closed since the last reset. */
  dropped: number;
  open: number;
  /** Connections still short of the id when the wait gave up. */
  unreached: number;
  timedOut: boolean;
}

export interface PublishResult {
  sent: number;
  acked: number;
  firstId: number;
  lastId: number;
  startWall: number;
  endWall: number;
  errors: number;
  errorSamples: string[];
  /** Steady mode: sends that started more than one interval late (publisher could not keep the rate). */
  late: number;
  /** Publish request round trips (send to response), which for ours include the durable commit. */
  requestP99Ms: number;
  requestMaxMs: number;
}

export interface IngestResult {
  events: number;
  requests: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  /** Request round-trip times. */
  latency: HistogramData;
}

export interface ReplayResult {
  events: number;
  lastId: number;
  /** From connect() to the frame carrying `last`. */
  elapsedMs: number;
  /** From connect() to the response head. */
  headMs: number;
  bytes: number;
  timedOut: boolean;
  error: string | null;
}

export type Reply = { reqId: number; ok: true; result: unknown } | { reqId: number; ok: false; error: string };
export type Request = Command & { reqId: number };
