/**
 * How one isolation case runs: a fresh server, the probe tenant beside the
 * hostile tenant (`demo`), then two phases measured the same way — a quiet
 * baseline (probes only, the hostile connections already open) and the load
 * phase — each bracketed by /metrics scrapes for the server's own event-loop
 * delay, with the server's RSS watched throughout. A phase is capped: what
 * the server has not answered by the end of the grace period is reported as
 * a stall of at least that age, and the server is killed with the case.
 */
import { sleep, waitQuiet, type Bench } from "./bench-context.js";
import { Histogram } from "./histogram.js";
import type { IsolationOptions } from "./options.js";
import { CpuWindow, rssBytes } from "./proc-stats.js";
import type { ProbeResult, ProbeSeries } from "./protocol.js";
import { createTenantKey, scrapeMetrics, type Metrics } from "./server-admin.js";
import { startOurs, type Target } from "./servers.js";
import type { Worker } from "./workers.js";

export const PROBE_TENANT = "probe";

export interface SeriesFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  missed: number;
  errors: number;
  unanswered: number;
  oldestUnansweredMs: number;
  errorSamples: string[];
}

export interface PhaseFigures {
  windowMs: number;
  healthz: SeriesFigures;
  publish: SeriesFigures;
  delivery: SeriesFigures;
  /** prom-client's `nodejs_eventloop_lag_p99_seconds` / `_max_seconds` over the phase; NaN when not available. */
  loopP99Ms: number;
  loopMaxMs: number;
  /** Why the loop figures are missing, if they are. */
  loopError?: string;
  peakRssBytes: number;
  /** Shares of one core. */
  serverCpuPct: number;
  otherCpuPct: number;
  /** Age of the oldest /healthz still unanswered after the grace period (0: none, the server kept answering). */
  stalledMs: number;
}

export interface CaseRun {
  quiet: PhaseFigures;
  load: PhaseFigures;
  /** Case-specific figures (RSS, throughput of the hostile load, streams cut…). */
  extra: Record<string, number>;
  notes: string[];
}

/** What a case's steps get. */
export interface CaseContext {
  bench: Bench;
  iso: IsolationOptions;
  target: Target;
  rss: RssWatch;
  extra: Record<string, number>;
  notes: string[];
}

export interface IsolationCase {
  id: string;
  title: string;
  /** Server settings of this case, over the bench's (e.g. the flood runs with the default per-key rate limit on). */
  serverEnv?: Record<string, string>;
  /** Before the quiet baseline: prefill, open the hostile connections. */
  setup?(c: CaseContext): Promise<void>;
  /** The load; resolves when done. The phase lasts at least `loadSeconds` and at most `capSeconds`. */
  load(c: CaseContext): Promise<void>;
  /** After the load phase, on the same server (e.g. close stalled streams and watch RSS come down). */
  after?(c: CaseContext): Promise<void>;
}

/** The target's stream endpoint with another path (and headers). */
export const withPath = (target: Target, path: string, headers = target.stream.headers) => ({ ...target.stream, path, headers });

/** Samples the server's RSS every 100 ms; kills it past the abort limit, since the machine is shared. */
export class RssWatch {
  peak = 0;
  aborted = false;
  readonly #timer: NodeJS.Timeout;

  constructor(target: Target, abortBytes: number) {
    this.#timer = setInterval(() => {
      try {
        const rss = rssBytes(target.pid);
        if (rss > this.peak) this.peak = rss;
        if (rss > abortBytes && !this.aborted) {
          this.aborted = true;
          void target.stop();
        }
      } catch {
        // the server is gone; the case reports it
      }
    }, 100);
  }

  /** Starts a new peak (per phase). */
  resetPeak(): void {
    this.peak = 0;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Runs one case once on a fresh server. */
export async function runCase(bench: Bench, probe: Worker, kase: IsolationCase): Promise<CaseRun> {
  const iso = bench.opts.iso;
  const target = await startOurs({ ...bench.opts.serverEnv, ...kase.serverEnv });
  const rss = new RssWatch(target, iso.rssAbortMiB * 2 ** 20);
  const c: CaseContext = { bench, iso, target, rss, extra: {}, notes: [] };
  try {
    const secret = await createTenantKey(target, PROBE_TENANT);
    const at = (p: string) => ({ host: target.stream.host, port: target.port, path: p, headers: { Authorization: `Bearer ${secret}` } });
    await kase.setup?.(c);
    await probe.call({ op: "probeOpen", probe: { healthz: at("/healthz"), publish: at(`/api/v1/tenants/${PROBE_TENANT}/events`), stream: at(`/api/v1/tenants/${PROBE_TENANT}/stream`) }, timeoutMs: 15_000 }, 30_000);
    const quiet = await phase(c, probe, async () => void (await sleep(iso.quietSeconds * 1000)), iso.quietSeconds * 1000);
    const load = await phase(c, probe, () => kase.load(c), iso.loadSeconds * 1000);
    if (load.stalledMs > 0) c.notes.push(`server stalled: /healthz unanswered for ${(load.stalledMs / 1000).toFixed(0)} s when the phase ended`);
    const exited = target.exited();
    if (rss.aborted) c.notes.push(`server killed: RSS passed ${iso.rssAbortMiB} MiB`);
    else if (exited) c.notes.push(`server ${exited} during the load phase`);
    else if (kase.after) await kase.after(c);
    return { quiet, load, extra: c.extra, notes: c.notes };
  } finally {
    rss.stop();
    await probe.call({ op: "probeClose" }, 10_000).catch(() => {});
    await target.stop();
  }
}

async function phase(c: CaseContext, probe: Worker, body: () => Promise<void>, minMs: number): Promise<PhaseFigures> {
  const { bench, iso, target } = c;
  await waitQuiet(bench);
  // This scrape resets prom-client's loop-delay histogram: the next one covers exactly this phase.
  const start = await scrapeMetrics(target, 10_000);
  const cpu = new CpuWindow(target.pid, bench.clientPids);
  cpu.start();
  c.rss.resetPeak();
  await probe.call({ op: "probeStart", healthzEveryMs: iso.healthzEveryMs, publishEveryMs: iso.publishEveryMs }, 10_000);
  const t0 = performance.now();
  const capMs = iso.capSeconds * 1000;
  let cut = true;
  await Promise.race([
    body().then(
      () => (cut = false),
      (err: Error) => {
        cut = false;
        c.notes.push(`load failed: ${err.message.split("\n")[0]}`);
      },
    ),
    sleep(capMs),
  ]);
  if (cut) c.notes.push(`load still running after the ${iso.capSeconds} s cap`);
  const rest = Math.min(minMs, capMs) - (performance.now() - t0);
  if (rest > 0) await sleep(rest);
  const p = await probe.call<ProbeResult>({ op: "probeStop", graceMs: iso.graceSeconds * 1000 }, iso.graceSeconds * 1000 + 30_000);
  // The server may be gone (killed past the RSS limit, or crashed): the figures so far still count.
  const cpuUse = target.exited() ? null : cpu.stop();
  const stalledMs = p.healthz.unanswered > 0 ? p.healthz.oldestUnansweredMs : 0;
  const end = target.exited() ? null : await scrapeMetrics(target, stalledMs > 0 ? 2_000 : 10_000);
  const loop = loopFigures(start, end);
  return {
    windowMs: p.windowMs,
    healthz: seriesFigures(p.healthz),
    publish: seriesFigures(p.publish),
    delivery: seriesFigures(p.delivery),
    ...loop,
    peakRssBytes: c.rss.peak,
    serverCpuPct: cpuUse ? (100 * cpuUse.serverUs) / 1000 / cpuUse.wallMs : NaN,
    otherCpuPct: cpuUse ? (100 * cpuUse.otherUs) / 1000 / cpuUse.wallMs : NaN,
    stalledMs,
  };
}

function loopFigures(start: Metrics | null, end: Metrics | null): Pick<PhaseFigures, "loopP99Ms" | "loopMaxMs" | "loopError"> {
  const none = (why: string) => ({ loopP99Ms: NaN, loopMaxMs: NaN, loopError: why });
  if (!start || !end) return none("/metrics did not answer");
  const max = end.get("nodejs_eventloop_lag_max_seconds");
  const p99 = end.get("nodejs_eventloop_lag_p99_seconds");
  if (max === undefined || p99 === undefined) return none("/metrics has no nodejs_eventloop_lag_max_seconds/_p99_seconds");
  return { loopP99Ms: p99 * 1000, loopMaxMs: max * 1000 };
}

function seriesFigures(s: ProbeSeries): SeriesFigures {
  const h = Histogram.from([s.latency]);
  return {
    p50Ms: h.quantileUs(0.5) / 1000,
    p99Ms: h.quantileUs(0.99) / 1000,
    maxMs: h.maxUs / 1000,
    samples: h.count,
    missed: s.missed,
    errors: s.errors,
    unanswered: s.unanswered,
    oldestUnansweredMs: s.oldestUnansweredMs,
    errorSamples: s.errorSamples,
  };
}

/** Median of every numeric leaf over repeated runs of a case; notes and samples from all runs are kept. */
export function medianRun(runs: CaseRun[]): CaseRun {
  const med = (vals: unknown[]): unknown => {
    const first = vals[0];
    if (typeof first === "number") {
      const v = (vals as number[]).filter(Number.isFinite).sort((a, b) => a - b);
      return v.length === 0 ? NaN : v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
    if (Array.isArray(first)) return [...new Set(vals.flat())];
    if (first && typeof first === "object") {
      const keys = new Set(vals.flatMap((v) => Object.keys(v as object)));
      return Object.fromEntries([...keys].map((k) => [k, med(vals.map((v) => (v as Record<string, unknown>)[k]).filter((x) => x !== undefined))]));
    }
    return first;
  };
  return med(runs) as CaseRun;
}
