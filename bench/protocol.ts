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
  /**
   * Fan-out ticks published here are padded to this many bytes of JSON, so
   * a server that frames events more tersely (nchan) still writes frames of
   * our size (bench/frame-bytes.ts measures both).
   */
  padTicksTo?: number;
}

/**
 * An event id as one increasing number. Ours and the floor count 1, 2, 3…;
 * nchan's ids are `<unix seconds>:<n-th message of that second>`, which
 * become seconds × 10⁶ + n (below 2⁵³ until the year 2255).
 */
export function idKey(id: string): number {
  const colon = id.indexOf(":");
  return colon < 0 ? Number(id) : Number(id.slice(0, colon)) * ID_TAG_SCALE + Number(id.slice(colon + 1));
}
export const ID_TAG_SCALE = 1_000_000;

export type Command =
  | { op: "subscribe"; group: string; target: HttpTarget; count: number; concurrency: number; timeoutMs: number; measureLatency: boolean }
  /** Zeroes a group's counters; with no group, only proves the worker is listening. */
  | { op: "reset"; group?: string }
  | { op: "waitFor"; group: string; id: number; timeoutMs: number }
  /** Closes a group's streams, or every stream when no group is named. */
  | { op: "close"; group?: string }
  | {
      op: "publish";
      target: HttpTarget;
      mode: "steady" | "burst";
      count: number;
      rate: number;
      batch: number;
      conns: number;
      timeoutMs: number;
      /** Event JSON texts to send in turn instead of timestamped ticks (domain events, large payloads). */
      events?: string[];
    } & PublishShape
  | {
      op: "ingest";
      target: HttpTarget;
      /** `array`: one JSON array of `batch` events per request. */
      mode: "single" | "ndjson" | "array";
      conns: number;
      batch: number;
      durationMs: number;
      /** Stop each connection after this many requests (default: only the duration bounds it). */
      maxRequests?: number;
    }
  | { op: "replay"; target: HttpTarget; after: number; last: number; timeoutMs: number }
  /** Opens streams that read their response head and then never read again (stalled consumers). */
  | { op: "stall"; target: HttpTarget; count: number; concurrency: number; timeoutMs: number }
  /** Closes every stalled connection of this worker. */
  | { op: "unstall" }
  /** Opens the probe tenant's own stream (once per server) and readies its connections. */
  | { op: "probeOpen"; probe: ProbeTargets; timeoutMs: number }
  /** Starts probing on a fixed schedule; figures are kept from here until probeStop. */
  | { op: "probeStart"; healthzEveryMs: number; publishEveryMs: number }
  /** Stops scheduling, waits up to graceMs for answers still due, and returns the figures. */
  | { op: "probeStop"; graceMs: number }
  /** Closes the probe's connections. */
  | { op: "probeClose" }
  /** Server pids to kill if the orchestrator dies without stopping them (SIGKILL leaves no exit handler). */
  | { op: "guard"; pids: number[] };

/** How a fan-out publisher shapes its timestamped ticks, when not as the events API's small JSON events. */
export interface PublishShape {
  /** Pads each tick's data to this many bytes (JSON text), so every path carries the same payload. */
  payloadBytes?: number;
  /**
   * Sends each tick as a Mercure update on this topic (form-encoded, one a
   * request, steady mode only), with the tick's data as the update's data and
   * an id ending in its send time in µs: numbers that grow, as the log's ids
   * do, for the subscribers' counting (see sse-subscribers.ts).
   */
  mercureTopic?: string;
}

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

/** Where the probe tenant's three probes go. */
export interface ProbeTargets {
  healthz: HttpTarget;
  publish: HttpTarget;
  stream: HttpTarget;
}

export interface StallResult {
  opened: number;
  failed: number;
  failures: string[];
}

/** One probe's latencies over a window, measured from each request's scheduled time (no coordinated omission). */
export interface ProbeSeries {
  latency: HistogramData;
  /** Requests (or events) scheduled in the window. */
  scheduled: number;
  /** Scheduled while every probe connection was busy: their latency is estimated from the next answer. */
  missed: number;
  errors: number;
  errorSamples: string[];
  /** Still unanswered (or undelivered) when the grace period ended: the server was stalled. */
  unanswered: number;
  /** Age of the oldest of those, in ms (0 when none). */
  oldestUnansweredMs: number;
}

export interface ProbeResult {
  healthz: ProbeSeries;
  publish: ProbeSeries;
  delivery: ProbeSeries;
  windowMs: number;
}

export type Reply = { reqId: number; ok: true; result: unknown } | { reqId: number; ok: false; error: string };
export type Request = Command & { reqId: number };
