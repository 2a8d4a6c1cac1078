/**
 * Idle memory: what one open, idle SSE stream costs the server in RSS.
 */
import { assertAlive, closeStreams, median, sampleRss, sleep, subscribeAll, waitQuiet, warmUp, type Bench } from "./bench-context.js";
import type { Target } from "./servers.js";

export interface MemoryResult {
  conns: number;
  opened: number;
  failures: string[];
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerConn: number;
  connectMs: number;
}

export interface MemoryFigures {
  conns: number;
  /** Median over runs, each on a freshly started server. */
  bytesPerConn: number;
  runs: MemoryResult[];
}

export function memoryFigures(runs: MemoryResult[]): MemoryFigures {
  return { conns: runs[0].conns, bytesPerConn: median(runs.map((r) => r.bytesPerConn)), runs };
}

/**
 * RSS with N idle streams minus RSS before, over N. The stream path is
 * warmed first (a few streams, one event) so lazily loaded code and first
 * allocations are in the baseline, not charged to the connections.
 */
export async function idleMemory(bench: Bench, target: Target): Promise<MemoryResult> {
  const n = bench.opts.idleConns;
  await subscribeAll(bench, target, Math.min(100, n), false);
  await warmUp(bench, target, Math.min(100, n), 5);
  await closeStreams(bench, target.name);
  await waitQuiet(bench);
  const before = await sampleRss(target.pid);
  const sub = await subscribeAll(bench, target, n, false);
  try {
    await sleep(1500);
    const after = await sampleRss(target.pid);
    assertAlive(target);
    return {
      conns: n,
      opened: sub.opened,
      failures: sub.failures,
      rssBeforeBytes: before,
      rssAfterBytes: after,
      bytesPerConn: sub.opened > 0 ? (after - before) / sub.opened : NaN,
      connectMs: sub.connectMs,
    };
  } finally {
    await closeStreams(bench, target.name);
  }
}
