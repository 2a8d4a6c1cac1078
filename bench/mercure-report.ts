/**
 * The Mercure table: each Mercure path's fan-out figures beside the native
 * path's from the same run and server, server CPU per delivery held to
 * issue 12's target, within 15% of native.
 */
import { runNote, type Failed, type Row } from "./report.js";
import type { MercureResult, PathFigures, PathName } from "./scenario-mercure.js";

export const MERCURE_CPU_MAX_RATIO = 1.15;

export const MERCURE_COLUMNS = { ours: "Mercure", floor: "Native", ratio: "Mercure/native" };

const LABELS: Record<Exclude<PathName, "native">, string> = { "mercure-exact": "exact topic", "mercure-template": "URI template" };

const ok = <T>(v: T | Failed | undefined): T | undefined => (v && !("error" in (v as object)) ? (v as T) : undefined);
const errOf = (v: unknown): string | undefined => (v && typeof v === "object" && "error" in v ? String((v as Failed).error).split("\n")[0] : undefined);
const finite = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);
const notes = (...n: (string | undefined | false)[]) => n.filter(Boolean).join("; ") || undefined;
const range = (lo: number, hi: number, digits: number) => `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;

function row(figure: string, unit: string, mercure: number | undefined, native: number | undefined, judged: boolean, note?: string): Row {
  const m = finite(mercure);
  const n = finite(native);
  const ratio = m !== null && n !== null && n !== 0 ? m / n : null;
  const target = judged ? `≤ ${MERCURE_CPU_MAX_RATIO.toFixed(2)}× native` : "";
  const pass = judged && ratio !== null ? ratio <= MERCURE_CPU_MAX_RATIO : null;
  return { figure, unit, ours: m, floor: n, ratio, target, pass, ...(note ? { note } : {}) };
}

/** The Mercure paths of a comparison, in the order they ran. */
const mercurePaths = (paths: object) => Object.keys(paths).filter((k): k is Exclude<PathName, "native"> => k !== "native");

export function mercureRows(res: MercureResult): Row[] {
  if (res.error) return [row("Mercure scenario", "", undefined, undefined, false, res.error.split("\n")[0])];
  const rows: Row[] = [];
  for (const [size, cmp] of Object.entries(res.sizes)) {
    const subs = Number(size).toLocaleString("en-US");
    if ("error" in cmp) {
      rows.push(row(`Mercure fan-out, ${subs} streams a path`, "", undefined, undefined, false, errOf(cmp)));
      continue;
    }
    const nat = ok<PathFigures>(cmp.paths.native);
    for (const name of mercurePaths(cmp.paths)) {
      const mer = ok<PathFigures>(cmp.paths[name]);
      const runs = Math.min(mer?.runs.length ?? 0, nat?.runs.length ?? 0);
      const what = `Mercure ${LABELS[name]} vs native, ${subs} subs, ${cmp.rate} ev/s × ${cmp.eventsPerRun} ev, ${cmp.payloadBytes}-byte data (median of ${runs})`;
      const rounds = cmp.roundRatios[name] ?? [];
      const spread = notes(
        mer && `CPU per delivery over runs: Mercure ${range(mer.cpuMinUs, mer.cpuMaxUs, 2)} µs`,
        nat && `native ${range(nat.cpuMinUs, nat.cpuMaxUs, 2)} µs`,
        rounds.length > 0 && `round by round Mercure/native ${range(Math.min(...rounds), Math.max(...rounds), 2)}×`,
      );
      const problems = notes(
        errOf(cmp.paths[name]) && `Mercure: ${errOf(cmp.paths[name])}`,
        errOf(cmp.paths.native) && `native: ${errOf(cmp.paths.native)}`,
        mer?.stoppedBy && `Mercure: runs stopped: ${mer.stoppedBy.split("\n")[0]}`,
        nat?.stoppedBy && `native: runs stopped: ${nat.stoppedBy.split("\n")[0]}`,
        ...(mer?.runs ?? []).map((r, i) => runNote(r, `Mercure #${i + 1}`)),
        ...(nat?.runs ?? []).map((r, i) => runNote(r, `native #${i + 1}`)),
      );
      rows.push(row(`${what}: server CPU per delivery`, "µs", mer?.median.serverCpuUsPerDelivery, nat?.median.serverCpuUsPerDelivery, true, notes(spread, problems)));
      rows.push(row(`${what}: deliveries/s`, "deliveries/s", mer?.median.deliveredPerSec, nat?.median.deliveredPerSec, false));
      rows.push(row(`${what}: latency p50`, "ms", mer?.median.p50Ms, nat?.median.p50Ms, false));
      rows.push(row(`${what}: latency p99`, "ms", mer?.median.p99Ms, nat?.median.p99Ms, false));
      rows.push(row(`${what}: publish request p99 (incl. commit)`, "ms", mer?.median.publishP99Ms, nat?.median.publishP99Ms, false));
      rows.push(row(`${what}: load-client CPU per delivery`, "µs", mer?.median.clientCpuUsPerDelivery, nat?.median.clientCpuUsPerDelivery, false));
    }
  }
  return rows;
}

/** One line per Mercure path and size: its CPU ratio to native, and whether the target is met. */
export function mercureVerdicts(res: MercureResult): string[] {
  const out: string[] = [];
  for (const [size, cmp] of Object.entries(res.sizes)) {
    if ("error" in cmp) continue;
    const nat = ok<PathFigures>(cmp.paths.native);
    for (const name of mercurePaths(cmp.paths)) {
      const mer = ok<PathFigures>(cmp.paths[name]);
      const head = `Mercure ${LABELS[name]}, ${Number(size).toLocaleString("en-US")} streams`;
      if (!mer || !nat) {
        out.push(`${head}: not measured (${errOf(cmp.paths[name]) ?? errOf(cmp.paths.native) ?? "no runs"})`);
        continue;
      }
      const ratio = mer.median.serverCpuUsPerDelivery / nat.median.serverCpuUsPerDelivery;
      const verdict = ratio <= MERCURE_CPU_MAX_RATIO ? "met" : "NOT met";
      out.push(
        `${head}: server CPU per delivery ${mer.median.serverCpuUsPerDelivery.toFixed(2)} µs vs native ${nat.median.serverCpuUsPerDelivery.toFixed(2)} µs = ${ratio.toFixed(2)}× (target ≤ ${MERCURE_CPU_MAX_RATIO.toFixed(2)}×): ${verdict}`,
      );
    }
  }
  return out;
}
