/**
 * Bench sizes. Each can be set by an environment variable or the matching
 * flag (`BENCH_IDLE_CONNS=2000` or `--idle-conns=2000`); `BENCH_QUICK=1`
 * (or `--quick`) switches every default to a smoke-test size.
 */
import { DEBIAN_NCHAN_MODULE, DEBIAN_NGINX } from "./nchan.js";
import type { TargetName } from "./servers.js";

export const SCENARIOS = ["disk", "memory", "fanout", "ingest", "replay", "mercure", "cluster", "isolation"] as const;
export type Scenario = (typeof SCENARIOS)[number];
/**
 * `npm run bench` alone runs these; `isolation` is asked for by name or with
 * `--isolation`, `cluster` by name (it starts a PostgreSQL server), and
 * `mercure` by name (a comparison of its own, on a server of its own).
 */
const DEFAULT_SCENARIOS: readonly Scenario[] = ["disk", "memory", "fanout", "ingest", "replay"];

/** The isolation cases (issue 8): (a) glob, (b) replay, (c) stalled, (d) console, (e) batch, (f) flood. */
export const ISOLATION_CASES = ["glob", "replay", "stalled", "console", "batch", "flood"] as const;
export type IsolationCaseName = (typeof ISOLATION_CASES)[number];

export interface Options {
  quick: boolean;
  targets: TargetName[];
  scenarios: Scenario[];
  /** Subscriber worker processes; fan-out and idle connections are split evenly over them. */
  clients: number;
  /** Publisher worker processes (ingest connections are split over them). */
  publishers: number;
  connectConcurrency: number;
  idleConns: number;
  /** Idle-memory samples, each on a freshly started server. */
  memoryRepeats: number;
  fanoutSizes: number[];
  steadyRate: number;
  steadySeconds: number;
  steadyRepeats: number;
  /** Caps a steady run's events × subscribers: at 5,000 streams the floor falls behind 50 ev/s, and the run would drag on. */
  steadyMaxDeliveries: number;
  /** Deliveries per burst (events × subscribers); the burst's event count follows from it. */
  burstDeliveries: number;
  burstBatch: number;
  burstConns: number;
  burstRepeats: number;
  ingestConns: number;
  ndjsonConns: number;
  ndjsonBatch: number;
  ingestSeconds: number;
  ingestWarmupSeconds: number;
  replayEvents: number;
  replayRepeats: number;
  /** Length of the bare-SQLite commit-latency probe (at the steady rate). */
  diskSeconds: number;
  /** A measured window starts only when fewer cores than this are busy (bounded by quietBudgetSeconds). */
  quietCores: number;
  /** Total time a run may spend waiting for a quiet machine. */
  quietBudgetSeconds: number;
  /** Extra environment for our server in every scenario, `NAME=value,NAME=value` (e.g. SSE_RECENT_BYTES=0 to replay from the log). */
  serverEnv: Record<string, string>;
  iso: IsolationOptions;
  cluster: ClusterOptions;
  mercure: MercureOptions;
  /** `--peers`: only the comparison with nchan and the Node floors (issue 13), sized by `peer`. */
  peers: boolean;
  peer: PeerOptions;
}

/** The Mercure selectors the comparison subscribes with, each a path beside the native one. */
export const MERCURE_SELECTORS = ["exact", "template"] as const;
export type MercureSelector = (typeof MERCURE_SELECTORS)[number];

/** Sizes of the Mercure scenario; see bench/README.md, "Mercure fan-out beside native streams". */
export interface MercureOptions {
  /** Streams per path (native, and each Mercure selector); each size is a comparison of its own. */
  sizes: number[];
  selectors: MercureSelector[];
  /** Events/s, the same on every path, and the length of a run. */
  rate: number;
  seconds: number;
  /** Runs of each path, alternating. */
  repeats: number;
  /** Bytes of JSON in each event's data (the native event's `data`, the Mercure update's `data`). */
  payloadBytes: number;
}

/** Sizes of the `--peers` mode; see bench/README.md, "Beside nchan (issue 13)". */
export interface PeerOptions {
  /** Fan-out subscribers at the steady rate, each size with ours, nchan and the floor side by side. */
  sizes: number[];
  /** Interleaved runs of every figure on every server (memory: fresh starts). */
  runs: number;
  /** The burst: this many single-event publishes, as fast as acked on `burstConns` connections, to `burstSubs` streams (0: no burst). */
  burstSubs: number;
  burstEvents: number;
  burstConns: number;
  /** Idle streams of the memory figure. */
  memorySizes: number[];
  /** `--peer-memory-only`: the memory figure alone (it needs fresh servers and no other load; minutes instead of ten). */
  memoryOnly: boolean;
  /** Concurrent clients of the single-event POST runs (ours against the bare node:http handler). */
  postConns: number[];
  replayEvents: number;
  /** Replayed events are padded so that each one's SSE frame is about this long. */
  replayFrameBytes: number;
  /** nginx and its nchan module; Debian's paths unless set. */
  nginx: string;
  nchanModule: string;
}

/** Sizes of the cluster scenario; see bench/README.md, "Several nodes on PostgreSQL". */
export interface ClusterOptions {
  /** NDJSON ingest connections in all, spread over the nodes ingest goes through (batch size and length as for ingest). */
  ingestConns: number;
  /** Fan-out streams, spread over the three PostgreSQL nodes; as many again on the SQLite node. */
  subscribers: number;
  /** Fan-out publish rate (events/s) and length of a run. */
  rate: number;
  seconds: number;
  repeats: number;
  /** Streams on node A for publish-to-delivery latency, and as many on the SQLite node. */
  latencySubscribers: number;
  latencyRate: number;
  latencySeconds: number;
  /** Runs per case (SQLite, same node, cross node); every delivery of every run goes into the percentiles. */
  latencyRepeats: number;
}

/** Sizes of the isolation cases; see bench/README.md, "Isolation". */
export interface IsolationOptions {
  cases: IsolationCaseName[];
  /** Each case is run this many times, each on a fresh server; figures are medians. */
  repeats: number;
  /** Length of the quiet baseline, probes only. */
  quietSeconds: number;
  /** Least length of a load phase (the flood and the console's events last this long). */
  loadSeconds: number;
  /** Most a load phase may last before it is cut (a replay that never ends). */
  capSeconds: number;
  /** After a phase, how long answers still due may take; what is still unanswered then is a stall. */
  graceSeconds: number;
  healthzEveryMs: number;
  publishEveryMs: number;
  replayEvents: number;
  replayClients: number;
  stalledConns: number;
  burstEvents: number;
  burstEventBytes: number;
  pageGroups: number[];
  consoleRate: number;
  /** Events the batch case publishes in all, and in each request. */
  batchEvents: number;
  batchSize: number;
  /** The server's MAX_BATCH_BYTES: (c) sends its large events in requests of at most this much data. */
  batchBytes: number;
  floodConns: number;
  floodBatch: number;
  /** Our server is killed when its RSS passes this (MiB): the machine is shared. */
  rssAbortMiB: number;
}

export function readOptions(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Options {
  // Flags win over the environment: --idle-conns=10 is BENCH_IDLE_CONNS=10.
  const vars: Record<string, string | undefined> = { ...env };
  for (const arg of argv) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}; flags look like --idle-conns=2000`);
    vars["BENCH_" + m[1].toUpperCase().replace(/-/g, "_")] = m[2] ?? "1";
  }
  const quick = /^(1|true|yes)$/i.test(vars.BENCH_QUICK ?? "");
  const num = (name: string, full: number, smoke: number, min = 1): number => {
    const raw = vars[`BENCH_${name}`];
    const v = raw === undefined || raw === "" ? (quick ? smoke : full) : Number(raw);
    if (!Number.isFinite(v) || v < min) throw new Error(`BENCH_${name} must be a number ≥ ${min}, got ${raw}`);
    return v;
  };
  const list = <T extends string>(name: string, all: readonly T[], fallback: readonly T[]): T[] => {
    const raw = vars[`BENCH_${name}`];
    if (!raw) return [...fallback];
    const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
    for (const i of items) if (!all.includes(i as T)) throw new Error(`BENCH_${name}: unknown "${i}", expected some of ${all.join(",")}`);
    return items as T[];
  };
  const ints = (name: string, full: string, smoke: string): number[] => {
    const v = (vars[`BENCH_${name}`] ?? (quick ? smoke : full)).split(",").map(Number);
    if (v.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BENCH_${name} must be a list of positive integers`);
    return v;
  };
  const isolationOnly = /^(1|true|yes)$/i.test(vars.BENCH_ISOLATION ?? "") && !vars.BENCH_SCENARIOS;
  const peers = /^(1|true|yes)$/i.test(vars.BENCH_PEERS ?? "");
  const sizes = ints("FANOUT_SIZES", "1000,5000", "1000");

  return {
    quick,
    targets: list<TargetName>("TARGETS", ["floor", "ours"], ["floor", "ours"]),
    scenarios: peers ? [] : isolationOnly ? ["isolation"] : list<Scenario>("SCENARIOS", SCENARIOS, DEFAULT_SCENARIOS),
    clients: num("CLIENTS", 4, 4),
    publishers: num("PUBLISHERS", 2, 2),
    connectConcurrency: num("CONNECT_CONCURRENCY", 64, 64),
    idleConns: num("IDLE_CONNS", 5000, 1000),
    memoryRepeats: num("MEMORY_REPEATS", 3, 1),
    fanoutSizes: sizes,
    steadyRate: num("STEADY_RATE", 50, 50),
    steadySeconds: num("STEADY_SECONDS", 4, 3),
    steadyRepeats: num("STEADY_REPEATS", 3, 1),
    steadyMaxDeliveries: num("STEADY_MAX_DELIVERIES", 500_000, 200_000),
    burstDeliveries: num("BURST_DELIVERIES", 750_000, 200_000),
    burstBatch: num("BURST_BATCH", 50, 50),
    burstConns: num("BURST_CONNS", 2, 2),
    burstRepeats: num("BURST_REPEATS", 3, 1),
    ingestConns: num("INGEST_CONNS", 64, 64),
    ndjsonConns: num("NDJSON_CONNS", 4, 4),
    ndjsonBatch: num("NDJSON_BATCH", 1000, 1000),
    ingestSeconds: num("INGEST_SECONDS", 6, 1.5),
    ingestWarmupSeconds: num("INGEST_WARMUP_SECONDS", 1, 0.5, 0),
    replayEvents: num("REPLAY_EVENTS", 100_000, 20_000),
    replayRepeats: num("REPLAY_REPEATS", 3, 1),
    diskSeconds: num("DISK_SECONDS", 5, 2),
    quietCores: num("QUIET_CORES", 0.3, 0.3, 0),
    quietBudgetSeconds: num("QUIET_BUDGET_SECONDS", 20, 5, 0),
    serverEnv: Object.fromEntries(
      (vars.BENCH_SERVER_ENV ?? "")
        .split(",")
        .filter(Boolean)
        .map((kv) => {
          const eq = kv.indexOf("=");
          if (eq < 1) throw new Error(`BENCH_SERVER_ENV: "${kv}" is not NAME=value`);
          return [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim()];
        }),
    ),
    iso: {
      cases: list<IsolationCaseName>("ISO_CASES", ISOLATION_CASES, ISOLATION_CASES),
      repeats: num("ISO_REPEATS", 1, 1),
      quietSeconds: num("ISO_QUIET_SECONDS", 4, 2),
      loadSeconds: num("ISO_LOAD_SECONDS", 6, 3),
      capSeconds: num("ISO_CAP_SECONDS", 30, 15),
      graceSeconds: num("ISO_GRACE_SECONDS", 10, 5),
      healthzEveryMs: num("ISO_HEALTHZ_EVERY_MS", 10, 10),
      publishEveryMs: num("ISO_PUBLISH_EVERY_MS", 50, 50),
      replayEvents: num("ISO_REPLAY_EVENTS", 1_000_000, 200_000),
      replayClients: num("ISO_REPLAY_CLIENTS", 4, 4),
      stalledConns: num("ISO_STALLED_CONNS", 1000, 250),
      burstEvents: num("ISO_BURST_EVENTS", 350, 350),
      burstEventBytes: num("ISO_BURST_EVENT_BYTES", 60_000, 60_000, 100),
      pageGroups: ints("ISO_PAGE_GROUPS", "20,100", "20"),
      consoleRate: num("ISO_CONSOLE_RATE", 20, 20),
      batchEvents: num("ISO_BATCH_EVENTS", 50_000, 50_000),
      batchSize: num("ISO_BATCH_SIZE", 1_000, 1_000),
      batchBytes: num("ISO_BATCH_BYTES", 1024 * 1024, 1024 * 1024, 1024),
      floodConns: num("ISO_FLOOD_CONNS", 8, 8),
      floodBatch: num("ISO_FLOOD_BATCH", 100, 100),
      rssAbortMiB: num("ISO_RSS_ABORT_MIB", 3072, 3072),
    },
    mercure: {
      sizes: ints("MERCURE_SIZES", "1000", "200"),
      selectors: list<MercureSelector>("MERCURE_SELECTORS", MERCURE_SELECTORS, MERCURE_SELECTORS),
      rate: num("MERCURE_RATE", 50, 50),
      seconds: num("MERCURE_SECONDS", 5, 3),
      repeats: num("MERCURE_REPEATS", 5, 3),
      payloadBytes: num("MERCURE_PAYLOAD_BYTES", 200, 200),
    },
    peers,
    peer: {
      sizes: ints("PEER_SIZES", "1000,5000,10000", "1000"),
      runs: num("PEER_RUNS", 3, 1),
      burstSubs: num("PEER_BURST_SUBS", 1000, 1000),
      burstEvents: num("PEER_BURST_EVENTS", 2000, 2000, 0),
      burstConns: num("PEER_BURST_CONNS", 8, 8),
      memorySizes: ints("PEER_MEMORY_SIZES", "1000,10000", "1000"),
      memoryOnly: /^(1|true|yes)$/i.test(vars.BENCH_PEER_MEMORY_ONLY ?? ""),
      postConns: ints("PEER_POST_CONNS", "8,32", "8"),
      replayEvents: num("PEER_REPLAY_EVENTS", 1_000_000, 100_000),
      replayFrameBytes: num("PEER_REPLAY_FRAME_BYTES", 312, 312),
      nginx: vars.BENCH_NGINX || DEBIAN_NGINX,
      nchanModule: vars.BENCH_NCHAN_MODULE || DEBIAN_NCHAN_MODULE,
    },
    cluster: {
      ingestConns: num("CLUSTER_INGEST_CONNS", 6, 6),
      subscribers: num("CLUSTER_SUBSCRIBERS", 10_000, 1000, 3),
      rate: num("CLUSTER_RATE", 10, 10),
      seconds: num("CLUSTER_SECONDS", 4, 3),
      repeats: num("CLUSTER_REPEATS", 3, 1),
      latencySubscribers: num("CLUSTER_LATENCY_SUBSCRIBERS", 100, 100),
      latencyRate: num("CLUSTER_LATENCY_RATE", 50, 50),
      latencySeconds: num("CLUSTER_LATENCY_SECONDS", 4, 3),
      latencyRepeats: num("CLUSTER_LATENCY_REPEATS", 3, 1),
    },
  };
}
