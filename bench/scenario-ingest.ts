/**
 * Durable ingest: single-event POSTs on many connections, or NDJSON batches
 * on a few, for a fixed time.
 */
import { split, waitQuiet, type Bench } from "./bench-context.js";
import { Histogram } from "./histogram.js";
import { CpuWindow } from "./proc-stats.js";
import type { IngestResult } from "./protocol.js";
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

export async function ingest(bench: Bench, target: Target, mode: "single" | "ndjson"): Promise<IngestFigures> {
  const o = bench.opts;
  const conns = mode === "single" ? o.ingestConns : o.ndjsonConns;
  const batch = mode === "single" ? 1 : o.ndjsonBatch;
  const pubs = bench.pubs.slice(0, Math.min(bench.pubs.length, conns));
  const shares = split(conns, pubs.length);
  const runAll = (durationMs: number) =>
    Promise.all(pubs.map((w, i) => w.call<IngestResult>({ op: "ingest", target: target.publish, mode, conns: shares[i], batch, durationMs }, durationMs + 60_000)));
  await waitQuiet(bench);
  if (o.ingestWarmupSeconds > 0) await runAll(o.ingestWarmupSeconds * 1000);
  const cpu = new CpuWindow(target.pid, bench.clientPids);
  cpu.start();
  const results = await runAll(o.ingestSeconds * 1000);
  const c = cpu.stop();
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
