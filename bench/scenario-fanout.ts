/**
 * Fan-out: one publisher, N subscribers, at a steady rate and in bursts.
 * CPU per delivery, deliveries per second and publish-to-receive latency.
 */
import { assertAlive, closeStreams, medianOf, openWarmed, waitAll, waitQuiet, type Bench, type FanoutPath } from "./bench-context.js";
import { Histogram, type HistogramData } from "./histogram.js";
import { CpuWindow } from "./proc-stats.js";
import type { PublishResult } from "./protocol.js";
import type { Failed, PerTarget } from "./report.js";
import type { Target } from "./servers.js";

export interface FanoutRun {
  events: number;
  delivered: number;
  expected: number;
  deliveredPerSec: number;
  serverCpuUsPerDelivery: number;
  clientCpuUsPerDelivery: number;
  /** Share of one core. */
  serverCpuPct: number;
  clientCpuPct: number;
  /** Share of all cores busy during the window, by anyone. */
  machineBusyPct: number;
  /** CPU of other processes on the machine during the window, as a share of one core. */
  otherCpuPct: number;
  /** Busy cores (anyone's) just before the window opened. */
  busyCoresBefore: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  windowMs: number;
  dropped: number;
  unreached: number;
  negativeLatencies: number;
  publishErrors: number;
  lateSends: number;
  /** The publisher's request round trips: for ours these include the commit, so a stall here is a commit stall. */
  publishP99Ms: number;
  publishMaxMs: number;
  errorSamples: string[];
}

export interface FanoutResult {
  subscribers: number;
  opened: number;
  failures: string[];
  connectMs: number;
  steadyRuns: FanoutRun[];
  /** Field-by-field median of steadyRuns. */
  steady: FanoutRun;
  steadyEvents: number;
  burstEvents: number;
  burstRuns: FanoutRun[];
  /** Field-by-field median of burstRuns. */
  burst: FanoutRun;
}

/**
 * Fan-out to `subscribers` streams on every target. Both targets' streams
 * stay open together and their runs alternate (floor, ours, ours, floor,
 * ...), so a change in the machine's load lands on both alike.
 */
export async function fanout(bench: Bench, targets: readonly Target[], subscribers: number): Promise<PerTarget<FanoutResult>> {
  const o = bench.opts;
  const out: PerTarget<FanoutResult> = {};
  type Entry = { t: Target; opened: number; failures: string[]; connectMs: number; steadyRuns: FanoutRun[]; burstRuns: FanoutRun[]; error?: string };
  const entries: Entry[] = [];
  const burstEvents = Math.max(o.burstBatch, Math.ceil(o.burstDeliveries / subscribers));
  const steadyEvents = Math.max(1, Math.min(Math.round(o.steadyRate * o.steadySeconds), Math.ceil(o.steadyMaxDeliveries / subscribers)));
  try {
    for (const t of targets) {
      try {
        const sub = await openWarmed(bench, t, t, subscribers);
        entries.push({ t, opened: sub.opened, failures: sub.failures, connectMs: sub.connectMs, steadyRuns: [], burstRuns: [] });
      } catch (err) {
        out[t.name] = { error: (err as Error).message };
        bench.log(`  error: ${t.name}: ${(err as Error).message}`);
        await closeStreams(bench, t.name);
      }
    }
    const rounds = async (kind: "steady" | "burst", repeats: number) => {
      for (let r = 0; r < repeats; r++) {
        const order = r % 2 === 0 ? entries : [...entries].reverse();
        for (const e of order) {
          if (e.error) continue;
          try {
            assertAlive(e.t);
            const spec =
              kind === "steady"
                ? { mode: kind, count: steadyEvents, rate: o.steadyRate, batch: 1, conns: 4, timeoutMs: o.steadySeconds * 1000 + 30_000 }
                : { mode: kind, count: burstEvents, rate: 0, batch: o.burstBatch, conns: o.burstConns, timeoutMs: 60_000 };
            const run = await fanoutRun(bench, e.t, e.opened, spec);
            (kind === "steady" ? e.steadyRuns : e.burstRuns).push(run);
            const what = kind === "steady" ? `steady ${o.steadyRate}/s` : `burst ${burstEvents} events`;
            bench.log(`  ${e.t.name.padEnd(5)} ${what} #${r + 1}: ${fmtRun(run)}`);
          } catch (err) {
            e.error = (err as Error).message;
            bench.log(`  error: ${e.t.name}: ${e.error}`);
          }
        }
      }
    };
    await rounds("steady", o.steadyRepeats);
    await rounds("burst", o.burstRepeats);
    for (const e of entries) {
      out[e.t.name] =
        e.error !== undefined
          ? ({ error: e.error } satisfies Failed)
          : {
              subscribers,
              opened: e.opened,
              failures: e.failures,
              connectMs: e.connectMs,
              steadyRuns: e.steadyRuns,
              steady: medianOf(e.steadyRuns),
              steadyEvents,
              burstEvents,
              burstRuns: e.burstRuns,
              burst: medianOf(e.burstRuns),
            };
    }
    return out;
  } finally {
    await closeStreams(bench);
  }
}

export function fmtRun(r: FanoutRun): string {
  return (
    `${Math.round(r.deliveredPerSec).toLocaleString("en-US")} deliveries/s, ` +
    `server ${r.serverCpuUsPerDelivery.toFixed(2)} µs/delivery, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, publish max ${r.publishMaxMs.toFixed(0)} ms` +
    (r.delivered < r.expected ? `, MISSING ${r.expected - r.delivered}` : "") +
    (r.dropped ? `, ${r.dropped} streams dropped` : "")
  );
}

/**
 * One measured run: publishes as `spec` says to `target`, waits until every
 * stream of its group has the last event, and reads the server's CPU over
 * that window.
 */
export async function fanoutRun(
  bench: Bench,
  target: FanoutPath,
  streams: number,
  spec: { mode: "steady" | "burst"; count: number; rate: number; batch: number; conns: number; timeoutMs: number },
): Promise<FanoutRun> {
  await Promise.all(bench.subs.map((w) => w.call({ op: "reset", group: target.name }, 10_000)));
  const busyBefore = await waitQuiet(bench);
  const cpu = new CpuWindow(target.pid, bench.clientPids);
  cpu.start();
  const pub = await bench.pubs[0].call<PublishResult>({ op: "publish", target: target.publish, ...spec, ...target.publishAs }, spec.timeoutMs + 30_000);
  // Everything published must reach every stream; the window closes when the last one has it.
  const results = pub.lastId > 0 ? await waitAll(bench, target.name, pub.lastId, 60_000) : [];
  const c = cpu.stop();
  const delivered = results.reduce((a, r) => a + r.delivered, 0);
  const lastRecv = Math.max(0, ...results.map((r) => r.lastRecv));
  const hist = Histogram.from(results.map((r) => r.latency as HistogramData));
  const windowMs = lastRecv > 0 ? lastRecv - pub.startWall : c.wallMs;
  return {
    events: pub.acked,
    delivered,
    expected: pub.acked * streams,
    deliveredPerSec: delivered / (windowMs / 1000),
    serverCpuUsPerDelivery: c.serverUs / delivered,
    clientCpuUsPerDelivery: c.clientUs / delivered,
    serverCpuPct: (100 * c.serverUs) / 1000 / c.wallMs,
    clientCpuPct: (100 * c.clientUs) / 1000 / c.wallMs,
    machineBusyPct: 100 * c.machineBusy,
    otherCpuPct: (100 * c.otherUs) / 1000 / c.wallMs,
    busyCoresBefore: busyBefore,
    p50Ms: hist.quantileUs(0.5) / 1000,
    p99Ms: hist.quantileUs(0.99) / 1000,
    maxMs: hist.maxUs / 1000,
    windowMs,
    dropped: results.reduce((a, r) => a + r.dropped, 0),
    unreached: results.reduce((a, r) => a + r.unreached, 0),
    negativeLatencies: hist.negative,
    publishErrors: pub.errors,
    lateSends: pub.late,
    publishP99Ms: pub.requestP99Ms,
    publishMaxMs: pub.requestMaxMs,
    errorSamples: pub.errorSamples,
  };
}
