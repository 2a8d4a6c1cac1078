/**
 * Idle memory: what one open, idle SSE stream costs the server in RSS.
 */
import { assertAlive, closeStreams, median, sampleRss, sleep, subscribeAll, waitQuiet, warmUp, type Bench } from "./bench-context.js";
import type { PerTarget } from "./report.js";
import type { Target, TargetName } from "./servers.js";

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

/**
 * `memoryRepeats` rounds of idleMemory on every named server, each sample on
 * a freshly started one: scenarios grow heaps that never shrink back, and
 * RSS has no GC to ask for from outside. Runs alternate between servers.
 * `live` holds the server running now, so a signal handler can stop it.
 */
export async function memoryRounds(
  bench: Bench,
  names: readonly TargetName[],
  start: (name: TargetName) => Promise<Target>,
  live: Target[],
): Promise<PerTarget<MemoryFigures>> {
  const runs: Partial<Record<TargetName, MemoryResult[]>> = {};
  const failed: Partial<Record<TargetName, string>> = {};
  for (let r = 0; r < bench.opts.memoryRepeats; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      if (failed[name]) continue;
      bench.log(`Idle memory, ${bench.opts.idleConns} connections, fresh ${name} #${r + 1}`);
      let t: Target | null = null;
      try {
        t = await start(name);
        live.push(t);
        const m = await idleMemory(bench, t);
        (runs[name] ??= []).push(m);
        bench.log(`  ${(m.bytesPerConn / 1024).toFixed(2)} KiB per connection (${m.opened} opened, RSS ${(m.rssBeforeBytes / 2 ** 20).toFixed(1)} → ${(m.rssAfterBytes / 2 ** 20).toFixed(1)} MiB)`);
      } catch (err) {
        failed[name] = (err as Error).message;
        bench.log(`  error: ${failed[name]}`);
      } finally {
        if (t) {
          await t.stop();
          live.splice(live.indexOf(t), 1);
        }
      }
    }
  }
  const out: PerTarget<MemoryFigures> = {};
  for (const name of names) {
    const error = failed[name];
    const done = runs[name];
    if (error) out[name] = { error };
    else if (done) out[name] = memoryFigures(done);
  }
  return out;
}
