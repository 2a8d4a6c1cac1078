/**
 * Fan-out in the cluster scenario: N streams spread over the three
 * PostgreSQL nodes, events published to node A at a steady rate, every node
 * delivering to its own streams; beside it N streams on the SQLite node.
 * Both sets of streams stay open together and their runs alternate.
 */
import { closeStreams, medianOf, split, subscribeAll, type Bench } from "./bench-context.js";
import { Histogram } from "./histogram.js";
import { POSTGRES, type ClusterServers, type Node } from "./cluster-nodes.js";
import { runProblems, steadyRun, type SteadyRun, type StreamGroup } from "./cluster-runs.js";
import type { Failed } from "./report.js";

export interface FanoutNodeFigures {
  streams: number;
  delivered: number;
  /** This node's CPU ÷ its own deliveries. */
  cpuUsPerDelivery: number;
  p50Ms: number;
  p99Ms: number;
}

export interface ClusterFanoutRun {
  events: number;
  delivered: number;
  expected: number;
  deliveredPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Every Switchboard node's CPU ÷ every delivery. */
  serverCpuUsPerDelivery: number;
  /** PostgreSQL's (NaN on SQLite). */
  postgresCpuUsPerDelivery: number;
  clientCpuUsPerDelivery: number;
  nodes: Record<string, FanoutNodeFigures>;
  otherCpuPct: number;
  publishMaxMs: number;
  problems: string[];
}

export interface ClusterFanoutSide {
  /** Node labels, the first taking the publishes. */
  nodes: string[];
  opened: number;
  connectMs: number;
  runs: ClusterFanoutRun[];
  /** Field-by-field median of runs. */
  median: ClusterFanoutRun;
}

export interface ClusterFanout {
  subscribers: number;
  rate: number;
  eventsPerRun: number;
  sqlite: ClusterFanoutSide | Failed;
  postgres: ClusterFanoutSide | Failed;
}

type Side = { name: "sqlite" | "postgres"; publishTo: Node; groups: StreamGroup[]; connectMs: number; runs: ClusterFanoutRun[]; error?: string };

/**
 * `n` streams on the SQLite node and `n` spread over `pgNodes`, the first of which takes the publishes;
 * runs alternate between the two sides.
 */
export async function clusterFanout(bench: Bench, servers: ClusterServers, n: number, pgNodes: Node[]): Promise<ClusterFanout> {
  const o = bench.opts.cluster;
  const eventsPerRun = Math.max(1, Math.round(o.rate * o.seconds));
  const layouts: [Side["name"], Node[]][] = [
    ["sqlite", [servers.sqlite]],
    ["postgres", pgNodes],
  ];
  const sides: Side[] = [];
  const failed: Partial<Record<Side["name"], Failed>> = {};
  try {
    for (const [name, nodes] of layouts) {
      try {
        const t0 = performance.now();
        const shares = split(n, nodes.length);
        const groups: StreamGroup[] = [];
        for (const [i, node] of nodes.entries()) {
          const group = `fanout-${node.label}`;
          const sub = await subscribeAll(bench, node.target, shares[i], true, group);
          if (sub.failed > 0) throw new Error(`${sub.failed} of ${shares[i]} streams to ${node.label} failed to open: ${sub.failures[0]}`);
          groups.push({ group, node, streams: sub.opened });
        }
        const side: Side = { name, publishTo: nodes[0], groups, connectMs: performance.now() - t0, runs: [] };
        bench.log(`  ${name}: ${n} streams open on ${nodes.map((x) => x.label).join(", ")} in ${(side.connectMs / 1000).toFixed(1)} s`);
        // First deliveries to fresh streams are slow (see warmUp in bench-context.ts): unmeasured.
        await steadyRun(bench, side.publishTo, groups, { count: Math.max(5, Math.min(o.rate * 3, Math.ceil(300_000 / n))), rate: o.rate });
        sides.push(side);
      } catch (err) {
        failed[name] = { error: (err as Error).message };
        bench.log(`  error: ${name}: ${(err as Error).message}`);
      }
    }
    for (let r = 0; r < o.repeats; r++) {
      for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
        if (side.error) continue;
        try {
          const nodes = side.groups.map((g) => g.node);
          const run = await steadyRun(bench, side.publishTo, side.groups, { count: eventsPerRun, rate: o.rate }, servers.cpuSources(nodes));
          const figures = fanoutFigures(run, side.groups);
          side.runs.push(figures);
          bench.log(`  ${side.name.padEnd(8)} #${r + 1}: ${fmtRun(figures)}`);
        } catch (err) {
          side.error = (err as Error).message;
          bench.log(`  error: ${side.name}: ${side.error}`);
        }
      }
    }
  } finally {
    await closeStreams(bench);
  }
  const result = (name: Side["name"]): ClusterFanoutSide | Failed => {
    const side = sides.find((s) => s.name === name);
    if (!side) return failed[name] ?? { error: "not run" };
    if (side.error || side.runs.length === 0) return { error: side.error ?? "no run" };
    // Problems of any run, not only the first's.
    const median = { ...medianOf(side.runs), problems: side.runs.flatMap((x, i) => x.problems.map((p) => p.replace(/^run/, `run ${i + 1}`))) };
    return { nodes: side.groups.map((g) => g.node.label), opened: side.groups.reduce((a, g) => a + g.streams, 0), connectMs: side.connectMs, runs: side.runs, median };
  };
  return { subscribers: n, rate: o.rate, eventsPerRun, sqlite: result("sqlite"), postgres: result("postgres") };
}

function fanoutFigures(run: SteadyRun, groups: readonly StreamGroup[]): ClusterFanoutRun {
  const hist = Histogram.from([run.latency]);
  const serverUs = groups.reduce((a, g) => a + run.cpuUs[g.node.label], 0);
  const nodes: Record<string, FanoutNodeFigures> = {};
  for (const g of groups) {
    const f = run.groups[g.group];
    nodes[g.node.label] = { streams: g.streams, delivered: f.delivered, cpuUsPerDelivery: run.cpuUs[g.node.label] / f.delivered, p50Ms: f.p50Ms, p99Ms: f.p99Ms };
  }
  return {
    events: run.events,
    delivered: run.delivered,
    expected: run.expected,
    deliveredPerSec: run.deliveredPerSec,
    p50Ms: hist.quantileUs(0.5) / 1000,
    p99Ms: hist.quantileUs(0.99) / 1000,
    maxMs: hist.maxUs / 1000,
    serverCpuUsPerDelivery: serverUs / run.delivered,
    postgresCpuUsPerDelivery: (run.cpuUs[POSTGRES] ?? NaN) / run.delivered,
    clientCpuUsPerDelivery: run.clientUs / run.delivered,
    nodes,
    otherCpuPct: run.otherCpuPct,
    publishMaxMs: run.publishMaxMs,
    problems: runProblems(run, "run"),
  };
}

function fmtRun(r: ClusterFanoutRun): string {
  const perNode = Object.entries(r.nodes).map(([label, f]) => `${label} ${f.cpuUsPerDelivery.toFixed(2)}`);
  return (
    `${Math.round(r.deliveredPerSec).toLocaleString("en-US")} deliveries/s, server µs/delivery ${perNode.join(", ")}` +
    (Number.isFinite(r.postgresCpuUsPerDelivery) ? `, postgres ${r.postgresCpuUsPerDelivery.toFixed(2)}` : "") +
    `, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms` +
    (r.problems.length ? `; ${r.problems.join("; ")}` : "")
  );
}
