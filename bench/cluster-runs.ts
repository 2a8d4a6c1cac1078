/**
 * One steady run of the cluster scenario: publish timestamped events at a
 * fixed rate to one node, wait until every stream of the given groups (each
 * group: the streams of one node) has the last of them, and measure each
 * node's CPU over that window. Fan-out and latency are both made of these.
 */
import { waitAll, waitQuiet, type Bench } from "./bench-context.js";
import { Histogram, type HistogramData } from "./histogram.js";
import { CpuWindows } from "./proc-stats.js";
import type { DeliveryResult, PublishResult } from "./protocol.js";
import type { Node } from "./cluster-nodes.js";

/** The streams one node holds for a run, counted under `group` by the subscriber workers. */
export interface StreamGroup {
  group: string;
  node: Node;
  streams: number;
}

export interface GroupFigures {
  streams: number;
  delivered: number;
  expected: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  dropped: number;
  unreached: number;
}

export interface SteadyRun {
  events: number;
  /** From the first publish sent to the last frame received. */
  windowMs: number;
  delivered: number;
  expected: number;
  deliveredPerSec: number;
  /** Per group (i.e. per node holding streams). */
  groups: Record<string, GroupFigures>;
  /** Every delivery's latency, for percentiles over several runs. */
  latency: HistogramData;
  /** CPU µs of each source (node label, or "postgres") over the window. */
  cpuUs: Record<string, number>;
  clientUs: number;
  /** CPU of other processes on the machine during the window, as a share of one core. */
  otherCpuPct: number;
  publishErrors: number;
  lateSends: number;
  /** Publish round trips: they include the commit. */
  publishP99Ms: number;
  publishMaxMs: number;
  errorSamples: string[];
}

/**
 * Publishes `count` events at `rate` to `publishTo` and waits for `groups`
 * to have them all. `cpu` names the CPU readings to take (none: a warm-up).
 */
export async function steadyRun(
  bench: Bench,
  publishTo: Node,
  groups: readonly StreamGroup[],
  spec: { count: number; rate: number },
  cpu: Record<string, () => number> = {},
): Promise<SteadyRun> {
  await Promise.all(groups.flatMap((g) => bench.subs.map((w) => w.call({ op: "reset", group: g.group }, 10_000))));
  await waitQuiet(bench);
  const window = new CpuWindows(cpu, bench.clientPids);
  window.start();
  const timeoutMs = (spec.count / spec.rate) * 1000 + 30_000;
  const pub = await bench.pubs[0].call<PublishResult>(
    { op: "publish", target: publishTo.target.publish, mode: "steady", count: spec.count, rate: spec.rate, batch: 1, conns: 4, timeoutMs },
    timeoutMs + 30_000,
  );
  // Everything published must reach every stream; the window closes when the last one has it.
  const perGroup: DeliveryResult[][] = pub.lastId > 0 ? await Promise.all(groups.map((g) => waitAll(bench, g.group, pub.lastId, 60_000))) : groups.map(() => []);
  const c = window.stop();
  const all = perGroup.flat();
  const delivered = all.reduce((a, r) => a + r.delivered, 0);
  const expected = pub.acked * groups.reduce((a, g) => a + g.streams, 0);
  const lastRecv = Math.max(0, ...all.map((r) => r.lastRecv));
  const windowMs = lastRecv > 0 ? lastRecv - pub.startWall : c.wallMs;
  const figures: Record<string, GroupFigures> = {};
  groups.forEach((g, i) => {
    const rs = perGroup[i];
    const hist = Histogram.from(rs.map((r) => r.latency));
    figures[g.group] = {
      streams: g.streams,
      delivered: rs.reduce((a, r) => a + r.delivered, 0),
      expected: pub.acked * g.streams,
      p50Ms: hist.quantileUs(0.5) / 1000,
      p99Ms: hist.quantileUs(0.99) / 1000,
      maxMs: hist.maxUs / 1000,
      dropped: rs.reduce((a, r) => a + r.dropped, 0),
      unreached: rs.reduce((a, r) => a + r.unreached, 0),
    };
  });
  return {
    events: pub.acked,
    windowMs,
    delivered,
    expected,
    deliveredPerSec: delivered / (windowMs / 1000),
    groups: figures,
    latency: Histogram.from(all.map((r) => r.latency)).toData(),
    cpuUs: c.us,
    clientUs: c.clientUs,
    otherCpuPct: (100 * c.otherUs) / 1000 / c.wallMs,
    publishErrors: pub.errors,
    lateSends: pub.late,
    publishP99Ms: pub.requestP99Ms,
    publishMaxMs: pub.requestMaxMs,
    errorSamples: pub.errorSamples,
  };
}

/** What is wrong with a run, if anything: deliveries missing, streams dropped, publishes refused. */
export function runProblems(run: SteadyRun, who: string): string[] {
  const out: string[] = [];
  if (run.delivered < run.expected) out.push(`${who}: ${run.expected - run.delivered} of ${run.expected} deliveries missing`);
  const dropped = Object.values(run.groups).reduce((a, g) => a + g.dropped, 0);
  if (dropped > 0) out.push(`${who}: ${dropped} streams closed by the server`);
  if (run.publishErrors > 0) out.push(`${who}: ${run.publishErrors} publish errors (${run.errorSamples[0] ?? ""})`);
  if (run.lateSends > 0) out.push(`${who}: ${run.lateSends} sends late`);
  return out;
}
