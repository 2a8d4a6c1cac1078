/**
 * What every scenario shares: the workers, the options, and the steps they
 * are built from (open streams, warm them, wait for deliveries, wait for a
 * quiet machine, sample RSS, take medians).
 */
import os from "node:os";
import type { Options } from "./options.js";
import { machineTicks, rssBytes } from "./proc-stats.js";
import type { DeliveryResult, HttpTarget, PublishResult, PublishShape, SubscribeResult } from "./protocol.js";
import type { Target } from "./servers.js";
import type { Worker } from "./workers.js";

export interface Bench {
  opts: Options;
  /** Workers holding subscriber connections. */
  subs: Worker[];
  /** Workers publishing (fan-out publisher, ingest load, replay prefill). */
  pubs: Worker[];
  /** Every load-client pid, whose CPU is reported next to the server's. */
  clientPids: number[];
  log: (line: string) => void;
  /** What is left of the run's total allowance for waiting on a quiet machine. */
  quietBudgetMs: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** n split into k near-equal integer shares. */
export function split(n: number, k: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Field-by-field median of numeric fields over repeated runs, nested records included (arrays are the first run's). */
export function medianOf<T extends object>(runs: T[]): T {
  const out = { ...runs[0] } as Record<string, unknown>;
  const isRecord = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  for (const key of Object.keys(out)) {
    const vals = runs.map((r) => (r as Record<string, unknown>)[key]);
    if (vals.every((v) => typeof v === "number")) out[key] = median(vals as number[]);
    else if (vals.every(isRecord)) out[key] = medianOf(vals as object[]);
  }
  return out as T;
}

/** Median RSS over a few samples, so one allocation spike does not decide the figure. */
export async function sampleRss(pid: number, samples = 5, gapMs = 200): Promise<number> {
  const v: number[] = [];
  for (let i = 0; i < samples; i++) {
    v.push(rssBytes(pid));
    if (i < samples - 1) await sleep(gapMs);
  }
  return median(v);
}

/**
 * What a fan-out run publishes to and counts: a server under test (a Target
 * is one, its name the group), or one of several paths on one server (the
 * Mercure scenario's native and Mercure streams).
 */
export interface FanoutPath {
  /** The group the subscriber workers count its streams' deliveries in. */
  name: string;
  /** The server whose CPU a run measures. */
  pid: number;
  stream: HttpTarget;
  publish: HttpTarget;
  /** How its events are published, when not as the events API's small ticks. */
  publishAs?: PublishShape;
}

/** Opens n streams to the target, split over the subscriber workers; they count in `group` (the target's name unless given). */
export async function subscribeAll(bench: Bench, target: Pick<FanoutPath, "name" | "stream">, n: number, measureLatency: boolean, group: string = target.name) {
  const t0 = performance.now();
  const shares = split(n, bench.subs.length);
  const results = await Promise.all(
    bench.subs.map((w, i) =>
      w.call<SubscribeResult>(
        { op: "subscribe", group, target: target.stream, count: shares[i], concurrency: bench.opts.connectConcurrency, timeoutMs: 15_000, measureLatency },
        120_000,
      ),
    ),
  );
  const opened = results.reduce((a, r) => a + r.opened, 0);
  const failures = results.flatMap((r) => r.failures).slice(0, 5);
  return { opened, failed: n - opened, failures, connectMs: performance.now() - t0 };
}

/** Closes one target's streams (or all streams) in every worker. */
export async function closeStreams(bench: Bench, group?: string): Promise<void> {
  await Promise.all(bench.subs.map((w) => w.call({ op: "close", group }, 30_000)));
  // Let the server see the FINs and drop its streams before the next scenario counts anything.
  await sleep(500);
}

export function waitAll(bench: Bench, group: string, id: number, timeoutMs: number): Promise<DeliveryResult[]> {
  return Promise.all(bench.subs.map((w) => w.call<DeliveryResult>({ op: "waitFor", group, id, timeoutMs }, timeoutMs + 30_000)));
}

/**
 * Up to three seconds' worth of events at the steady rate, fewer when there
 * are many streams (an overloaded floor would take long to deliver them).
 */
export const warmUpEvents = (bench: Bench, streams: number) => Math.max(5, Math.min(bench.opts.steadyRate * 3, Math.ceil(300_000 / streams)));

/**
 * Publishes events at the steady rate and waits until every stream of the
 * target has them: proves each stream is live, and takes first-delivery
 * costs out of the measured runs (traced: the first ~25 events to fresh
 * streams arrive 30-100 ms late on every stream, then it settles).
 */
export async function warmUp(bench: Bench, target: Omit<FanoutPath, "pid" | "stream">, streams: number, events = warmUpEvents(bench, streams)): Promise<void> {
  const warm = await bench.pubs[0].call<PublishResult>(
    { op: "publish", target: target.publish, mode: "steady", count: events, rate: bench.opts.steadyRate, batch: 1, conns: 4, timeoutMs: 20_000, ...target.publishAs },
    40_000,
  );
  if (warm.acked === 0) throw new Error(`warm-up publish failed: ${warm.errorSamples.join(" | ")}`);
  const w = await waitAll(bench, target.name, warm.lastId, 30_000);
  const short = w.reduce((a, r) => a + r.unreached, 0);
  if (short > 0) bench.log(`  warning: ${short} of ${streams} ${target.name} streams did not receive the warm-up events`);
}

/**
 * Waits (boundedly) until the machine is quiet: on a shared machine another
 * job's burst would land in one measured window and not the next. Returns
 * the busy cores seen last. The total wait over a run is capped, so a
 * machine that never quietens still gets measured, just with a note.
 */
export async function waitQuiet(bench: Bench): Promise<number> {
  const cores = os.cpus().length;
  for (;;) {
    const a = machineTicks();
    await sleep(250);
    const b = machineTicks();
    const busy = b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * cores : 0;
    if (busy < bench.opts.quietCores || bench.quietBudgetMs <= 0) return busy;
    bench.quietBudgetMs -= 250;
  }
}

/**
 * A fan-out comparison's start, for each server or path: `n` measuring
 * streams opened on `path` (of the live `server`) and warmed up. Throws when
 * none opens; says so when some did not.
 */
export async function openWarmed(bench: Bench, server: Target, path: Pick<FanoutPath, "name" | "stream"> & Omit<FanoutPath, "pid" | "stream">, n: number) {
  assertAlive(server);
  const sub = await subscribeAll(bench, path, n, true);
  if (sub.opened === 0) throw new Error(`no stream opened: ${sub.failures.join(" | ")}`);
  if (sub.failed > 0) bench.log(`  warning: ${path.name}: ${sub.failed} of ${n} streams failed to open: ${sub.failures[0]}`);
  await warmUp(bench, path, sub.opened);
  bench.log(`  ${path.name}: ${sub.opened} streams open in ${(sub.connectMs / 1000).toFixed(1)} s`);
  return sub;
}

export function assertAlive(target: Target): void {
  const why = target.exited();
  if (why) throw new Error(`${target.name} server ${why}\n--- its output ---\n${target.output()}`);
}
