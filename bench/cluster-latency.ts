/**
 * Publish-to-delivery latency in the cluster scenario: streams on node A;
 * events published to node A (same node: it fans out what it commits) or
 * to node B (cross node: A learns of the commit by PostgreSQL's
 * notification and reads the events back), and on the SQLite node to
 * itself. The cases take turns, so drift of a shared machine hits them alike.
 */
import { closeStreams, median, subscribeAll, type Bench } from "./bench-context.js";
import { Histogram } from "./histogram.js";
import type { ClusterServers, Node } from "./cluster-nodes.js";
import { runProblems, steadyRun, type StreamGroup } from "./cluster-runs.js";

export const LATENCY_CASES = ["sqlite", "same", "cross"] as const;
export type LatencyCase = (typeof LATENCY_CASES)[number];

export interface LatencyCaseFigures {
  publishTo: string;
  streamsOn: string;
  events: number;
  delivered: number;
  expected: number;
  /** Over every delivery of every run. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Median over runs of the publishes' p99 round trip (it includes the commit). */
  publishP99Ms: number;
  runs: { p50Ms: number; p99Ms: number; publishP99Ms: number }[];
  problems: string[];
}

export interface ClusterLatency {
  streams: number;
  rate: number;
  eventsPerRun: number;
  cases: Record<LatencyCase, LatencyCaseFigures>;
  crossMinusSameP50Ms: number;
  crossMinusSameP99Ms: number;
}

export async function clusterLatency(bench: Bench, servers: ClusterServers): Promise<ClusterLatency> {
  const o = bench.opts.cluster;
  const [a, b] = servers.pgNodes;
  if (!a || !b) throw new Error("latency needs two PostgreSQL nodes");
  const onSqlite: StreamGroup = { group: "latency-sqlite", node: servers.sqlite, streams: o.latencySubscribers };
  const onA: StreamGroup = { group: `latency-${a.label}`, node: a, streams: o.latencySubscribers };
  const cases: Record<LatencyCase, { publishTo: Node; streams: StreamGroup }> = {
    sqlite: { publishTo: servers.sqlite, streams: onSqlite },
    same: { publishTo: a, streams: onA },
    cross: { publishTo: b, streams: onA },
  };
  const count = Math.max(1, Math.round(o.latencyRate * o.latencySeconds));
  try {
    for (const g of [onSqlite, onA]) {
      const sub = await subscribeAll(bench, g.node.target, g.streams, true, g.group);
      if (sub.failed > 0) throw new Error(`${sub.failed} of ${g.streams} streams to ${g.node.label} failed to open: ${sub.failures[0]}`);
    }
    // Warm every path (first deliveries to fresh streams are slow), unmeasured.
    for (const c of LATENCY_CASES) await steadyRun(bench, cases[c].publishTo, [cases[c].streams], { count: Math.min(count, 50), rate: o.latencyRate });
    const hist: Record<LatencyCase, Histogram> = { sqlite: new Histogram(), same: new Histogram(), cross: new Histogram() };
    const blank = (c: LatencyCase): LatencyCaseFigures => ({
      publishTo: cases[c].publishTo.label,
      streamsOn: cases[c].streams.node.label,
      events: 0,
      delivered: 0,
      expected: 0,
      p50Ms: NaN,
      p99Ms: NaN,
      maxMs: NaN,
      publishP99Ms: NaN,
      runs: [],
      problems: [],
    });
    const out: Record<LatencyCase, LatencyCaseFigures> = { sqlite: blank("sqlite"), same: blank("same"), cross: blank("cross") };
    for (let r = 0; r < o.latencyRepeats; r++) {
      for (const c of r % 2 === 0 ? LATENCY_CASES : [...LATENCY_CASES].reverse()) {
        const run = await steadyRun(bench, cases[c].publishTo, [cases[c].streams], { count, rate: o.latencyRate });
        const f = out[c];
        hist[c].merge(run.latency);
        const h = Histogram.from([run.latency]);
        f.runs.push({ p50Ms: h.quantileUs(0.5) / 1000, p99Ms: h.quantileUs(0.99) / 1000, publishP99Ms: run.publishP99Ms });
        f.events += run.events;
        f.delivered += run.delivered;
        f.expected += run.expected;
        f.problems.push(...runProblems(run, `run ${r + 1}`));
        bench.log(`  ${c.padEnd(6)} #${r + 1}: ${cases[c].publishTo.label} → streams on ${cases[c].streams.node.label}: p50 ${fmt(h.quantileUs(0.5))} ms, p99 ${fmt(h.quantileUs(0.99))} ms, publish p99 ${run.publishP99Ms.toFixed(1)} ms`);
      }
    }
    for (const c of LATENCY_CASES) {
      Object.assign(out[c], {
        p50Ms: hist[c].quantileUs(0.5) / 1000,
        p99Ms: hist[c].quantileUs(0.99) / 1000,
        maxMs: hist[c].maxUs / 1000,
        publishP99Ms: median(out[c].runs.map((x) => x.publishP99Ms)),
      });
    }
    return {
      streams: o.latencySubscribers,
      rate: o.latencyRate,
      eventsPerRun: count,
      cases: out,
      crossMinusSameP50Ms: out.cross.p50Ms - out.same.p50Ms,
      crossMinusSameP99Ms: out.cross.p99Ms - out.same.p99Ms,
    };
  } finally {
    await closeStreams(bench, onSqlite.group);
    await closeStreams(bench, onA.group);
  }
}

const fmt = (us: number) => (us / 1000).toFixed(2);
