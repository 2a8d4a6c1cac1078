/**
 * The isolation table: for each case, the probe tenant's three latencies
 * and the server's event-loop delay, quiet baseline beside load, held to
 * issue 8's targets — p99 within 3× of the quiet baseline, no loop stall
 * over 50 ms, and for the stalled consumers a peak RSS under 500 MB that
 * comes back within 10% of the baseline.
 */
import type { PhaseFigures, SeriesFigures } from "./isolation-phase.js";
import { layoutTable } from "./report.js";
import type { IsolationResult } from "./scenario-isolation.js";

export const P99_FACTOR = 3;
export const MAX_STALL_MS = 50;
export const PEAK_RSS_MIB = 500;
export const RSS_BACK_FACTOR = 1.1;

export interface IsolationRow {
  figure: string;
  quiet: string;
  load: string;
  ratio: number | null;
  target: string;
  pass: boolean | null;
}

const fmt = (v: number): string =>
  !Number.isFinite(v) ? "—" : v >= 100 || Number.isInteger(v) ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(1) : v.toFixed(2);

const stalled = (ms: number) => `stalled > ${(ms / 1000).toFixed(0)} s`;

function triple(s: SeriesFigures): string {
  // Unanswered requests are in the histogram at their age when the window closed, so every
  // figure would be a lower bound; the age of the oldest says more.
  if (s.unanswered > 0) return stalled(s.oldestUnansweredMs);
  return [s.p50Ms, s.p99Ms, s.maxMs].map(fmt).join(" / ");
}

function loopCell(p: PhaseFigures): string {
  if (Number.isFinite(p.loopMaxMs)) return `${fmt(p.loopP99Ms)} / ${fmt(p.loopMaxMs)}`;
  return p.stalledMs > 0 ? stalled(p.stalledMs) : "—";
}

/** Rows of every case (its median over repeats). */
export function isolationRows(results: IsolationResult[]): IsolationRow[] {
  const rows: IsolationRow[] = [];
  for (const r of results) {
    const { quiet, load, extra } = r.median;
    const probes: [string, keyof Pick<PhaseFigures, "healthz" | "publish" | "delivery">][] = [
      ["/healthz", "healthz"],
      ["probe tenant publish (to 201)", "publish"],
      ["probe tenant delivery (publish to its stream)", "delivery"],
    ];
    for (const [label, k] of probes) {
      const q = quiet[k].p99Ms;
      const l = load[k].p99Ms;
      const ratio = Number.isFinite(q) && Number.isFinite(l) && q > 0 ? l / q : null;
      rows.push({ figure: `${r.title}: ${label}, p50 / p99 / max ms`, quiet: triple(quiet[k]), load: triple(load[k]), ratio, target: `p99 ≤ ${P99_FACTOR}× quiet`, pass: ratio === null ? null : ratio <= P99_FACTOR });
    }
    const loopMax = Number.isFinite(load.loopMaxMs) ? load.loopMaxMs : load.stalledMs > 0 ? load.stalledMs : NaN;
    rows.push({
      figure: `${r.title}: event-loop delay (/metrics), p99 / max ms`,
      quiet: loopCell(quiet),
      load: loopCell(load),
      ratio: null,
      target: `max ≤ ${MAX_STALL_MS} ms`,
      pass: Number.isFinite(loopMax) ? loopMax <= MAX_STALL_MS : null,
    });
    if (r.id === "stalled") {
      const base = extra.rssBaselineMiB;
      const peak = load.peakRssBytes / 2 ** 20;
      rows.push({ figure: `${r.title}: server RSS, baseline / peak MiB`, quiet: fmt(base), load: fmt(peak), ratio: base > 0 && peak > 0 ? peak / base : null, target: `peak < ${PEAK_RSS_MIB} MB`, pass: peak > 0 ? peak * 1.048576 < PEAK_RSS_MIB : null });
      const back = Number.isFinite(extra.rssAfterMiB) && base > 0 ? extra.rssAfterMiB / base : null;
      rows.push({ figure: `${r.title}: server RSS, baseline / after the stalled streams closed MiB`, quiet: fmt(base), load: fmt(extra.rssAfterMiB), ratio: back, target: `≤ ${RSS_BACK_FACTOR}× baseline`, pass: back === null ? null : back <= RSS_BACK_FACTOR });
    }
  }
  return rows;
}

/** Case-specific figures and anything that makes a case's figures suspect. */
export function isolationNotes(results: IsolationResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    const m = r.median;
    const parts: string[] = [...m.notes];
    for (const [k, v] of Object.entries(m.extra)) if (k !== "lastId") parts.push(`${k} ${fmt(v)}`);
    for (const [name, p] of [["quiet", m.quiet], ["load", m.load]] as const) {
      if (p.otherCpuPct > 25) parts.push(`${name}: other processes used ${p.otherCpuPct.toFixed(0)}% of a core`);
      for (const k of ["healthz", "publish", "delivery"] as const) {
        const s = p[k];
        if (s.errors > 0) parts.push(`${name} ${k}: ${s.errors} errors (${s.errorSamples[0] ?? ""})`);
        if (s.unanswered > 0) parts.push(`${name} ${k}: ${s.unanswered} unanswered, oldest ${fmt(s.oldestUnansweredMs)} ms`);
      }
      if (p.loopError && !(p.stalledMs > 0)) parts.push(`${name} loop: ${p.loopError}`);
    }
    parts.push(`server CPU ${fmt(m.quiet.serverCpuPct)}% quiet, ${fmt(m.load.serverCpuPct)}% under load`);
    out.push(`  * ${r.title}: ${parts.join("; ")}`);
  }
  return out;
}

export function formatIsolationTable(rows: IsolationRow[]): string {
  const head = ["Case: figure", "Quiet", "Load", "Load/quiet", "Target", "Met"];
  const body = rows.map((r) => [r.figure, r.quiet, r.load, r.ratio === null ? "—" : `${r.ratio.toFixed(1)}×`, r.target, r.pass === null ? "" : r.pass ? "yes" : "NO"]);
  return layoutTable(head, body, [1, 3]);
}
