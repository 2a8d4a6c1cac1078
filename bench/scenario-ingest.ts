/**
 * Durable ingest: single-event POSTs on many connections, or NDJSON batches
 * on a few, for a fixed time.
 */
import { split, waitQuiet, type Bench } from "./bench-context.js";
import { Histogram } from "./histogram.js";
import { CpuWindow } from "./proc-stats.js";
import type { HttpTarget, IngestResult } from "./protocol.js";
import type { Target } from "./servers.js";

export interface IngestFigures {
  mode: "single" | "ndjson";
  conns: number;
  batch: number;
  events: number;
  eventsPerSec: number;
  elapsedMs: number;
  serverCpuUsPerEvent: number;
  serverCpuPct: number;
  clientCpuPct: number;
  otherCpuPct: number;
  requestP50Ms: number;
  requestP99Ms: number;
  errors: number;
  errorSamples: string[];
}

/** `conns` keep-alive connections to one server. */
export interface IngestLane {
  target: HttpTarget;
  conns: number;
}

export async function ingest(bench: Bench, target: Target, mode: "single" | "ndjson"): Promise<IngestFigures> {
  const o = bench.opts;
  const conns = mode === "single" ? o.ingestConns : o.ndjsonConns;
  const batch = mode === "single" ? 1 : o.ndjsonBatch;
  const { results, cpu: c } = await driveIngest(bench, [{ target: target.publish, conns }], mode, batch, new CpuWindow(target.pid, bench.clientPids));
  return ingestFigures(mode, conns, batch, results, c);
}

/**
 * Ingest load on every lane at once, each lane's connections split over the
 * publisher workers: a warm-up, then the measured run inside `window`.
 */
export async function driveIngest<T>(
  bench: Bench,
  lanes: readonly IngestLane[],
  mode: "single" | "ndjson",
  batch: number,
  window: { start(): void; stop(): T },
): Promise<{ results: IngestResult[]; cpu: T }> {
  const o = bench.opts;
  const calls: { worker: (typeof bench.pubs)[number]; target: HttpTarget; conns: number }[] = [];
  let next = 0;
  for (const lane of lanes) {
    for (const share of split(lane.conns, Math.min(bench.pubs.length, lane.conns))) {
      calls.push({ worker: bench.pubs[next++ % bench.pubs.length], target: lane.target, conns: share });
    }
  }
  const runAll = (durationMs: number) =>
    Promise.all(calls.map((c) => c.worker.call<IngestResult>({ op: "ingest", target: c.target, mode, conns: c.conns, batch, durationMs }, durationMs + 60_000)));
  await waitQuiet(bench);
  if (o.ingestWarmupSeconds > 0) await runAll(o.ingestWarmupSeconds * 1000);
  window.start();
  const results = await runAll(o.ingestSeconds * 1000);
  return { results, cpu: window.stop() };
}

/** The figures of one measured ingest run; `serverUs` is whatever CPU counts as the server's. */
export function ingestFigures(
  mode: "single" | "ndjson",
  conns: number,
  batch: number,
  results: readonly IngestResult[],
  c: { wallMs: number; serverUs: number; clientUs: number; otherUs: number },
): IngestFigures {
  const events = results.reduce((a, r) => a + r.events, 0);
  const elapsedMs = Math.max(...results.map((r) => r.elapsedMs));
  const hist = Histogram.from(results.map((r) => r.latency));
  return {
    mode,
    conns,
    batch,
    events,
    eventsPerSec: events / (elapsedMs / 1000),
    elapsedMs,
    serverCpuUsPerEvent: c.serverUs / events,
    serverCpuPct: (100 * c.serverUs) / 1000 / c.wallMs,
    clientCpuPct: (100 * c.clientUs) / 1000 / c.wallMs,
    otherCpuPct: (100 * c.otherUs) / 1000 / c.wallMs,
    requestP50Ms: hist.quantileUs(0.5) / 1000,
    requestP99Ms: hist.quantileUs(0.99) / 1000,
    errors: results.reduce((a, r) => a + r.errors, 0),
    errorSamples: results.flatMap((r) => r.errorSamples).slice(0, 3),
  };
}
