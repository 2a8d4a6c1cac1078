/**
 * Catch-up replay: how fast one reconnecting client reads back history.
 */
import { assertAlive, medianOf, sleep, waitQuiet, type Bench } from "./bench-context.js";
import { CpuWindow } from "./proc-stats.js";
import type { PublishResult, ReplayResult } from "./protocol.js";
import type { Target } from "./servers.js";

export interface ReplayRun {
  events: number;
  eventsPerSec: number;
  elapsedMs: number;
  headMs: number;
  bytes: number;
  serverCpuUsPerEvent: number;
  clientCpuPct: number;
  error: string | null;
}

export interface ReplayFigures {
  published: number;
  publishEventsPerSec: number;
  after: number;
  last: number;
  runs: ReplayRun[];
  /** Field-by-field median of runs. */
  median: ReplayRun;
}

/** Publishes N events, then times one client reading them all back from Last-Event-ID. */
export async function replay(bench: Bench, target: Target): Promise<ReplayFigures> {
  const o = bench.opts;
  const pub = await bench.pubs[0].call<PublishResult>(
    { op: "publish", target: target.publish, mode: "burst", count: o.replayEvents, rate: 0, batch: 1000, conns: 2, timeoutMs: 120_000 },
    180_000,
  );
  if (pub.acked !== o.replayEvents) throw new Error(`prefill acked ${pub.acked} of ${o.replayEvents}: ${pub.errorSamples.join(" | ")}`);
  const after = pub.firstId - 1;
  const runs: ReplayRun[] = [];
  for (let r = 0; r < o.replayRepeats; r++) {
    assertAlive(target);
    await waitQuiet(bench);
    const cpu = new CpuWindow(target.pid, bench.clientPids);
    cpu.start();
    const res = await bench.subs[0].call<ReplayResult>({ op: "replay", target: target.stream, after, last: pub.lastId, timeoutMs: 120_000 }, 150_000);
    const c = cpu.stop();
    const run: ReplayRun = {
      events: res.events,
      eventsPerSec: res.events / (res.elapsedMs / 1000),
      elapsedMs: res.elapsedMs,
      headMs: res.headMs,
      bytes: res.bytes,
      serverCpuUsPerEvent: c.serverUs / res.events,
      clientCpuPct: (100 * c.clientUs) / 1000 / c.wallMs,
      error: res.timedOut ? "timed out" : res.error,
    };
    bench.log(`  replay #${r + 1}: ${res.events} events in ${res.elapsedMs.toFixed(0)} ms${run.error ? ` (${run.error})` : ""}`);
    // The server may have logged why it ended the stream.
    if (run.error) bench.log(`  ${target.name}'s last output: ${target.output().split("\n").slice(-5).join(" | ") || "(none)"}`);
    runs.push(run);
    await sleep(300);
  }
  return {
    published: pub.acked,
    publishEventsPerSec: pub.acked / ((pub.endWall - pub.startWall) / 1000),
    after,
    last: pub.lastId,
    runs,
    median: medianOf(runs),
  };
}
