/**
 * Mercure fan-out beside native streams (issue 12), on one server: N native
 * streams and N Mercure streams for each selector kind, each path on a
 * tenant of its own so that no path's events reach another path's streams.
 * The same timestamped events, padded to the same payload, are published at
 * the same steady rate through each path (single-event POSTs to the events
 * API; form-encoded updates to the tenant's hub), and runs alternate
 * (native, Mercure, Mercure, native, …). Each Mercure path's server CPU
 * per delivery is held to within 15% of native's.
 */
import { assertAlive, closeStreams, medianOf, openWarmed, type Bench, type FanoutPath } from "./bench-context.js";
import type { MercureSelector } from "./options.js";
import type { Failed } from "./report.js";
import { fanoutRun, fmtRun, type FanoutRun } from "./scenario-fanout.js";
import { createTenant } from "./server-admin.js";
import { startOurs, type Target } from "./servers.js";

/** The topic every Mercure path publishes to. */
export const MERCURE_TOPIC = "https://bench.example/ticks/1";
/** What each Mercure path subscribes with (0.x `topic=`): the topic itself, or a URI template that matches it. */
export const MERCURE_SELECTOR_OF: Record<MercureSelector, string> = { exact: MERCURE_TOPIC, template: "https://bench.example/ticks/{id}" };

export type PathName = "native" | `mercure-${MercureSelector}`;

export interface PathFigures {
  tenant: string;
  /** The subscription request's path and query. */
  stream: string;
  opened: number;
  connectMs: number;
  runs: FanoutRun[];
  /** Field-by-field median of runs. */
  median: FanoutRun;
  /** The least and the most server CPU per delivery over the runs. */
  cpuMinUs: number;
  cpuMaxUs: number;
  /** Why the runs stopped before `repeats`, if they did. */
  stoppedBy?: string;
}

export interface MercureComparison {
  subscribers: number;
  rate: number;
  eventsPerRun: number;
  payloadBytes: number;
  paths: Partial<Record<PathName, PathFigures | Failed>>;
  /** A Mercure path's server CPU per delivery ÷ native's, round by round (the two runs of a round are next to each other in time). */
  roundRatios: Partial<Record<PathName, number[]>>;
}

export interface MercureResult {
  server?: { pid: number; port: number };
  /** Set when the server or its tenants could not be set up (nothing was measured). */
  error?: string;
  /** By streams per path. */
  sizes: Record<string, MercureComparison | Failed>;
}

type Path = FanoutPath & { name: PathName; tenant: string };

/** The native path and one Mercure path per selector, each on its own new tenant, all with the admin key. */
async function preparePaths(bench: Bench, t: Target): Promise<Path[]> {
  const o = bench.opts.mercure;
  const on = (tenant: string, path: string) => ({ host: t.stream.host, port: t.stream.port, path: `/api/v1/tenants/${tenant}/${path}`, headers: t.stream.headers });
  const paths: Path[] = [
    {
      name: "native",
      tenant: "bench-native",
      pid: t.pid,
      // The events the publisher sends, as a Mercure subscriber asks for its topic.
      stream: on("bench-native", "stream?types=bench.tick"),
      publish: on("bench-native", "events"),
      publishAs: { payloadBytes: o.payloadBytes },
    },
    ...o.selectors.map((sel): Path => ({
      name: `mercure-${sel}`,
      tenant: `bench-mercure-${sel}`,
      pid: t.pid,
      stream: on(`bench-mercure-${sel}`, `mercure?topic=${encodeURIComponent(MERCURE_SELECTOR_OF[sel])}`),
      publish: on(`bench-mercure-${sel}`, "mercure"),
      publishAs: { payloadBytes: o.payloadBytes, mercureTopic: MERCURE_TOPIC },
    })),
  ];
  for (const p of paths) await createTenant(t, p.tenant);
  return paths;
}

export async function mercure(bench: Bench): Promise<MercureResult> {
  const res: MercureResult = { sizes: {} };
  const log = bench.log;
  log("Mercure: starting a server of its own, and a tenant for each path");
  let t: Target;
  try {
    t = await startOurs(bench.opts.serverEnv);
  } catch (err) {
    res.error = (err as Error).message;
    log(`  error: ${res.error}`);
    return res;
  }
  try {
    res.server = { pid: t.pid, port: t.port };
    log(`  started ours: pid ${t.pid}, port ${t.port}`);
    const paths = await preparePaths(bench, t);
    for (const n of bench.opts.mercure.sizes) {
      log(`Mercure fan-out beside native, ${n} streams per path — ${paths.map((p) => p.name).join(", ")}, runs alternating`);
      try {
        res.sizes[n] = await compare(bench, t, paths, n);
      } catch (err) {
        res.sizes[n] = { error: (err as Error).message };
        log(`  error: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    res.error = (err as Error).message;
    log(`  error: ${res.error}`);
  } finally {
    await t.stop();
  }
  return res;
}

/** Opens n streams on every path, warms them, and runs each path `repeats` times, alternating. */
async function compare(bench: Bench, t: Target, paths: readonly Path[], n: number): Promise<MercureComparison> {
  const o = bench.opts.mercure;
  const out: MercureComparison = { subscribers: n, rate: o.rate, eventsPerRun: Math.max(1, Math.round(o.rate * o.seconds)), payloadBytes: o.payloadBytes, paths: {}, roundRatios: {} };
  type Entry = { path: Path; opened: number; connectMs: number; runs: FanoutRun[]; error?: string };
  const entries: Entry[] = [];
  try {
    for (const p of paths) {
      try {
        const sub = await openWarmed(bench, t, p, n);
        entries.push({ path: p, opened: sub.opened, connectMs: sub.connectMs, runs: [] });
      } catch (err) {
        out.paths[p.name] = { error: (err as Error).message };
        bench.log(`  error: ${p.name}: ${(err as Error).message}`);
        await closeStreams(bench, p.name);
      }
    }
    const spec = { mode: "steady" as const, count: out.eventsPerRun, rate: o.rate, batch: 1, conns: 4, timeoutMs: o.seconds * 1000 + 30_000 };
    for (let r = 0; r < o.repeats; r++) {
      for (const e of r % 2 === 0 ? entries : [...entries].reverse()) {
        if (e.error !== undefined) continue;
        try {
          assertAlive(t);
          const run = await fanoutRun(bench, e.path, e.opened, spec);
          e.runs.push(run);
          bench.log(`  ${e.path.name.padEnd(16)} #${r + 1}: ${fmtRun(run)}`);
        } catch (err) {
          e.error = (err as Error).message;
          bench.log(`  error: ${e.path.name}: ${e.error}`);
        }
      }
    }
    for (const e of entries) {
      if (e.runs.length === 0) {
        out.paths[e.path.name] = { error: e.error ?? "no run" };
        continue;
      }
      const cpu = e.runs.map((r) => r.serverCpuUsPerDelivery);
      out.paths[e.path.name] = {
        tenant: e.path.tenant,
        stream: e.path.stream.path,
        opened: e.opened,
        connectMs: e.connectMs,
        runs: e.runs,
        median: medianOf(e.runs),
        cpuMinUs: Math.min(...cpu),
        cpuMaxUs: Math.max(...cpu),
        ...(e.error !== undefined ? { stoppedBy: e.error } : {}),
      };
    }
    const native = entries.find((e) => e.path.name === "native");
    for (const e of entries) {
      if (!native || e === native) continue;
      const rounds = Math.min(e.runs.length, native.runs.length);
      out.roundRatios[e.path.name] = Array.from({ length: rounds }, (_, r) => e.runs[r].serverCpuUsPerDelivery / native.runs[r].serverCpuUsPerDelivery);
    }
    return out;
  } finally {
    await closeStreams(bench);
  }
}
