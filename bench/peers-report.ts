/**
 * The `--peers` table: each figure of issue 13 for ours, nchan and the
 * floor (median and spread of the interleaved runs), the ratio the goal is
 * stated in, the goal, and whether this run met it.
 */
import type { Options } from "./options.js";
import type { PeersResult } from "./peers.js";
import { fmt, layoutTable, runNote, tableNotes, type Failed, type PerTarget } from "./report.js";
import type { FanoutResult, FanoutRun } from "./scenario-fanout.js";
import type { IngestFigures } from "./scenario-ingest.js";
import type { TargetName } from "./servers.js";

/** One figure over the runs of one server. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export interface PeerRow {
  figure: string;
  unit: string;
  ours: Stat | null;
  nchan: Stat | null;
  floor: Stat | null;
  /** Ours' median ÷ the median of `against`. */
  ratio: number | null;
  against: "nchan" | "floor" | null;
  goal: string;
  /** Null when a figure the goal needs is missing. */
  met: boolean | null;
  note?: string;
}

type Goal = { kind: "ratio-max"; against: "nchan" | "floor"; value: number } | { kind: "max" | "min"; value: number; against?: "nchan" | "floor" };

function stat(values: readonly number[]): Stat | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return { median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, min: v[0], max: v[v.length - 1], runs: v.length };
}

const ok = <T>(v: T | Failed | undefined): T | undefined => (v !== undefined && !(typeof v === "object" && v !== null && "error" in v) ? (v as T) : undefined);
const errOf = (v: unknown): string | undefined => (v && typeof v === "object" && "error" in v ? String((v as Failed).error).split("\n")[0] : undefined);

function row(figure: string, unit: string, stats: Partial<Record<TargetName, Stat | null>>, goal: Goal, note?: string): PeerRow {
  const ours = stats.ours ?? null;
  const against = goal.against ?? null;
  const ref = against ? (stats[against] ?? null) : null;
  const ratio = ours && ref && ref.median !== 0 ? ours.median / ref.median : null;
  let text: string;
  let met: boolean | null;
  if (goal.kind === "ratio-max") {
    text = `≤ ${goal.value.toFixed(1)}× ${goal.against}`;
    met = ratio === null ? null : ratio <= goal.value;
  } else {
    const amount = unit.endsWith("/s") ? goal.value.toLocaleString("en-US") : String(goal.value);
    text = `${goal.kind === "max" ? "≤" : "≥"} ${amount} ${unit}`;
    met = ours === null ? null : goal.kind === "max" ? ours.median <= goal.value : ours.median >= goal.value;
  }
  return { figure, unit, ours, nchan: stats.nchan ?? null, floor: stats.floor ?? null, ratio, against, goal: text, met, ...(note ? { note } : {}) };
}

/** What makes a server's runs suspect, said once with how many runs it touched. */
function notesOf(per: PerTarget<unknown>, runsOf: (name: TargetName) => string[]): string | undefined {
  const parts: string[] = [];
  for (const name of ["ours", "nchan", "floor"] as const) {
    const err = errOf(per[name]);
    if (err) {
      parts.push(`${name}: ${err}`);
      continue;
    }
    const notes = runsOf(name);
    if (notes.length) parts.push(notes.length > 1 ? `${notes[0]} (and in ${notes.length - 1} more run(s))` : notes[0]);
  }
  return parts.length ? parts.join("; ") : undefined;
}

function fanoutRow(figure: string, per: PerTarget<FanoutResult>, kind: "steadyRuns" | "burstRuns", goal: Goal): PeerRow {
  const runs = (name: TargetName): FanoutRun[] => ok(per[name])?.[kind] ?? [];
  const stats = Object.fromEntries((["ours", "nchan", "floor"] as const).map((n) => [n, stat(runs(n).map((r) => r.serverCpuUsPerDelivery))]));
  const note = notesOf(per, (n) => runs(n).map((r) => runNote(r, n)).filter((x): x is string => x !== undefined));
  return row(figure, "µs", stats, goal, note);
}

function ingestNote(per: PerTarget<IngestFigures[]>): string | undefined {
  return notesOf(per, (n) =>
    (ok(per[n]) ?? []).flatMap((f) => [
      ...(f.errors ? [`${n}: ${f.errors} errors (${f.errorSamples[0] ?? ""})`] : []),
      ...(f.otherCpuPct > 25 ? [`${n}: other processes used ${f.otherCpuPct.toFixed(0)}% of a core meanwhile`] : []),
    ]),
  );
}

export function peerRows(res: PeersResult, opts: Options): PeerRow[] {
  const p = opts.peer;
  const rows: PeerRow[] = [];
  const subs = (n: number | string) => Number(n).toLocaleString("en-US");

  for (const n of p.sizes) {
    const per = res.fanout[n];
    if (per) rows.push(fanoutRow(`Fan-out, ${subs(n)} subscribers @ ${opts.steadyRate} events/s: server CPU per delivery`, per, "steadyRuns", { kind: "ratio-max", against: "nchan", value: 1 }));
  }
  const burst = p.burstEvents > 0 ? res.fanout[p.burstSubs] : undefined;
  if (burst) {
    rows.push(fanoutRow(`Burst, ${subs(p.burstEvents)} single-event publishes (${p.burstConns} conns) to ${subs(p.burstSubs)} subscribers: server CPU per delivery`, burst, "burstRuns", { kind: "ratio-max", against: "nchan", value: 0.6 }));
  }

  for (const [n, per] of Object.entries(res.memory)) {
    const stats = Object.fromEntries((["ours", "nchan", "floor"] as const).map((name) => [name, stat((ok(per[name])?.runs ?? []).map((r) => r.bytesPerConn / 1024))]));
    const note = notesOf(per, (name) => (ok(per[name])?.runs ?? []).filter((r) => r.opened < r.conns).map((r) => `${name}: only ${r.opened} of ${r.conns} opened (${r.failures[0] ?? ""})`));
    rows.push(row(`Memory per idle SSE connection, ${subs(n)} connections (RSS delta ÷ connections)`, "KiB", stats, { kind: "max", value: 10, against: "nchan" }, note));
  }

  for (const [conns, per] of Object.entries(res.posts)) {
    const of = (name: TargetName, pick: (f: IngestFigures) => number) => stat((ok(per[name]) ?? []).map(pick));
    const note = ingestNote(per);
    rows.push(row(`Durable single-event POSTs, ${conns} clients (floor: bare node:http handler, not durable)`, "events/s", { ours: of("ours", (f) => f.eventsPerSec), floor: of("floor", (f) => f.eventsPerSec) }, { kind: "min", value: 25_000, against: "floor" }, note));
    rows.push(row(`Durable single-event POSTs, ${conns} clients: server CPU per request`, "µs", { ours: of("ours", (f) => f.serverCpuUsPerEvent), floor: of("floor", (f) => f.serverCpuUsPerEvent) }, { kind: "ratio-max", against: "floor", value: 2 }));
  }

  if (res.ndjson) {
    const runs = ok(res.ndjson) ?? [];
    const note = errOf(res.ndjson) ?? ingestNote({ ours: runs });
    rows.push(row(`Durable NDJSON ingest, ${opts.ndjsonConns} clients × ${subs(opts.ndjsonBatch)}-event batches`, "events/s", { ours: stat(runs.map((f) => f.eventsPerSec)) }, { kind: "min", value: 120_000 }, note));
  }
  if (res.replay) {
    const r = ok(res.replay);
    const note = errOf(res.replay) ?? r?.runs.find((x) => x.error)?.error ?? undefined;
    const done = r?.runs.filter((x) => !x.error && x.events > 0) ?? [];
    const frame = done.length ? ` (${Math.round(done[0].bytes / done[0].events)} bytes each on the wire)` : "";
    rows.push(row(`Catch-up replay of ${subs(r?.published ?? p.replayEvents)} events${frame} to one reader`, "events/s", { ours: stat((r?.runs ?? []).filter((x) => !x.error).map((x) => x.eventsPerSec)) }, { kind: "min", value: 250_000 }, note));
  }
  return rows;
}

/** `median (min–max)`, or the median alone for one run. */
function cell(s: Stat | null, unit: string): string {
  if (!s) return "—";
  return s.runs > 1 ? `${fmt(s.median, unit)} (${fmt(s.min, unit)}–${fmt(s.max, unit)})` : fmt(s.median, unit);
}

export function formatPeerTable(rows: PeerRow[]): string {
  const head = ["Figure", "Unit", "Ours", "nchan", "Node floor", "Ratio", "Goal (issue 13)", "Met"];
  const body = rows.map((r) => [
    r.figure,
    r.unit,
    cell(r.ours, r.unit),
    cell(r.nchan, r.unit),
    cell(r.floor, r.unit),
    r.ratio === null ? "—" : `${r.ratio.toFixed(2)}× ${r.against}`,
    r.goal,
    r.met === null ? "?" : r.met ? "met" : "not met",
  ]);
  return layoutTable(head, body, [2, 5], tableNotes(rows));
}

/** CPU of other processes (% of one core) in every measured window of the mode, for the run's summary line. */
export function peerOtherCpu(res: PeersResult): number[] {
  const v: number[] = [];
  for (const per of Object.values(res.fanout))
    for (const r of Object.values(per)) if (r && !("error" in r)) for (const run of [...r.steadyRuns, ...r.burstRuns]) v.push(run.otherCpuPct);
  for (const per of Object.values(res.posts)) for (const runs of Object.values(per)) if (runs && !("error" in runs)) for (const f of runs) v.push(f.otherCpuPct);
  return v;
}
