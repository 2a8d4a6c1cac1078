/**
 * Turns results into the printed table: ours, the floor, their ratio, and
 * the target each figure is held to. Ratios come from one run, on purpose:
 * absolute figures drift on a shared machine, ratios measured side by side
 * in the same minutes do not drift nearly as much.
 */
import type { Options } from "./options.js";
import type { DiskProbe } from "./disk-probe.js";
import type { IsolationRow } from "./isolation-report.js";
import type { FanoutResult, FanoutRun } from "./scenario-fanout.js";
import type { IsolationResult } from "./scenario-isolation.js";
import type { IngestFigures } from "./scenario-ingest.js";
import type { MemoryFigures } from "./scenario-memory.js";
import type { ReplayFigures } from "./scenario-replay.js";
import type { ClusterResult } from "./scenario-cluster.js";
import type { MercureResult } from "./scenario-mercure.js";
import type { PeersResult } from "./peers.js";
import type { PeerRow } from "./peers-report.js";
import type { TargetName } from "./servers.js";

export type Failed = { error: string };
export type PerTarget<T> = Partial<Record<TargetName, T | Failed>>;

export interface Results {
  startedAt: string;
  durationSec: number;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; kernel: string; loadavgAtStart: number[] };
  options: Options;
  targets: PerTarget<{ pid: number; port: number }>;
  memory: PerTarget<MemoryFigures>;
  fanout: Record<string, PerTarget<FanoutResult>>;
  ingest: { single: PerTarget<IngestFigures>; ndjson: PerTarget<IngestFigures> };
  replay: PerTarget<ReplayFigures>;
  /** Commit latency of a bare SQLite database on the same disk: context for ours' latency. */
  disk?: DiskProbe | Failed;
  /** Median CPU (% of one core) other processes used during measured windows: how shared the machine was. */
  otherCpuPctMedian?: number;
  /** Filled by report(): every row of the table, for tooling that reads the JSON. */
  table?: Row[];
  /** The isolation cases (issue 8), when asked for: every run of every case, and their table. */
  isolation?: IsolationResult[];
  isolationTable?: IsolationRow[];
  /** The cluster scenario (issue 11), when asked for, and its table. */
  cluster?: ClusterResult;
  clusterTable?: Row[];
  /** Mercure fan-out beside native streams (issue 12), when asked for, and its table. */
  mercure?: MercureResult;
  mercureTable?: Row[];
  /** The `--peers` mode (issue 13): ours beside nchan and the Node floors, and its table. */
  peers?: PeersResult;
  peersTable?: PeerRow[];
}

export interface Row {
  figure: string;
  unit: string;
  ours: number | null;
  floor: number | null;
  ratio: number | null;
  target: string;
  pass: boolean | null;
  /** Anything that makes the figure suspect: missing deliveries, errors. */
  note?: string;
}

type Target = { kind: "ratio-max"; value: number } | { kind: "min"; value: number } | null;

const ok = <T>(v: T | Failed | undefined): T | undefined => (v && !("error" in (v as object)) ? (v as T) : undefined);
const errOf = (v: unknown): string | undefined => (v && typeof v === "object" && "error" in v ? String((v as Failed).error).split("\n")[0] : undefined);

function row(figure: string, unit: string, ours: number | undefined, floor: number | undefined, target: Target, note?: string): Row {
  const o = ours !== undefined && Number.isFinite(ours) ? ours : null;
  const f = floor !== undefined && Number.isFinite(floor) ? floor : null;
  const ratio = o !== null && f !== null && f !== 0 ? o / f : null;
  let pass: boolean | null = null;
  let text = "";
  if (target?.kind === "ratio-max") {
    text = `≤ ${target.value.toFixed(1)}× floor`;
    pass = ratio === null ? null : ratio <= target.value;
  } else if (target?.kind === "min") {
    text = `≥ ${target.value.toLocaleString("en-US")} ${unit}`;
    pass = o === null ? null : o >= target.value;
  }
  return { figure, unit, ours: o, floor: f, ratio, target: text, pass, ...(note ? { note } : {}) };
}

export function runNote(r: FanoutRun | undefined, who: string): string | undefined {
  if (!r) return undefined;
  const parts: string[] = [];
  if (r.delivered < r.expected) parts.push(`${who}: ${r.expected - r.delivered} of ${r.expected} deliveries missing`);
  if (r.dropped > 0) parts.push(`${who}: ${r.dropped} streams closed by server`);
  if (r.publishErrors > 0) parts.push(`${who}: ${r.publishErrors} publish errors (${r.errorSamples[0] ?? ""})`);
  if (r.lateSends > 0) parts.push(`${who}: ${r.lateSends} sends late`);
  if (r.otherCpuPct > 25) parts.push(`${who}: other processes used ${r.otherCpuPct.toFixed(0)}% of a core meanwhile`);
  return parts.length ? parts.join("; ") : undefined;
}

export function buildRows(res: Results): Row[] {
  const rows: Row[] = [];
  const notes = (...n: (string | undefined)[]) => n.filter(Boolean).join("; ") || undefined;

  for (const mode of ["single", "ndjson"] as const) {
    const o = ok(res.ingest[mode].ours);
    const f = ok(res.ingest[mode].floor);
    if (!o && !f && !res.ingest[mode].ours && !res.ingest[mode].floor) continue;
    const any = o ?? f!;
    const label =
      mode === "single"
        ? `Ingest, single-event POST, ${any?.conns ?? "?"} conns`
        : `Ingest, NDJSON ${any?.batch ?? "?"}/request, ${any?.conns ?? "?"} conns`;
    const note = notes(
      errOf(res.ingest[mode].ours) && `ours: ${errOf(res.ingest[mode].ours)}`,
      errOf(res.ingest[mode].floor) && `floor: ${errOf(res.ingest[mode].floor)}`,
      o && o.errors ? `ours: ${o.errors} errors (${o.errorSamples[0] ?? ""})` : undefined,
      f && f.errors ? `floor: ${f.errors} errors (${f.errorSamples[0] ?? ""})` : undefined,
      o && o.otherCpuPct > 25 ? `ours: other processes used ${o.otherCpuPct.toFixed(0)}% of a core meanwhile` : undefined,
      f && f.otherCpuPct > 25 ? `floor: other processes used ${f.otherCpuPct.toFixed(0)}% of a core meanwhile` : undefined,
    );
    rows.push(row(`${label}: durable events/s (floor: not durable)`, "events/s", o?.eventsPerSec, f?.eventsPerSec, mode === "ndjson" ? { kind: "min", value: 100_000 } : null, note));
    rows.push(row(`${label}: server CPU per event`, "µs", o?.serverCpuUsPerEvent, f?.serverCpuUsPerEvent, null));
    rows.push(row(`${label}: request p99`, "ms", o?.requestP99Ms, f?.requestP99Ms, null));
  }

  if (res.disk) {
    const d = ok<DiskProbe>(res.disk);
    const note = errOf(res.disk) ?? (d ? `p50 ${d.p50Ms.toFixed(2)} ms, max ${d.maxMs.toFixed(0)} ms, ${d.over50ms} of ${d.commits} commits over 50 ms` : undefined);
    rows.push(row(`Context: bare SQLite commit p99 on this disk (WAL, FULL, ${d?.ratePerSec ?? "?"}/s; not a server)`, "ms", d?.p99Ms, undefined, null, note));
  }

  for (const [n, per] of Object.entries(res.fanout)) {
    const o = ok(per.ours);
    const f = ok(per.floor);
    const err = notes(errOf(per.ours) && `ours: ${errOf(per.ours)}`, errOf(per.floor) && `floor: ${errOf(per.floor)}`);
    const subs = Number(n).toLocaleString("en-US");
    for (const kind of ["steady", "burst"] as const) {
      const or = o?.[kind];
      const fr = f?.[kind];
      const what =
        kind === "steady"
          ? `Fan-out ${subs} subs, ${res.options.steadyRate} ev/s × ${(o ?? f)?.steadyEvents ?? "?"} ev (median of ${res.options.steadyRepeats})`
          : `Fan-out ${subs} subs, burst ${(o ?? f)?.burstEvents ?? "?"} ev (median of ${res.options.burstRepeats})`;
      const note = notes(err, runNote(or, "ours"), runNote(fr, "floor"));
      rows.push(row(`${what}: deliveries/s`, "deliveries/s", or?.deliveredPerSec, fr?.deliveredPerSec, null, note));
      rows.push(row(`${what}: server CPU per delivery`, "µs", or?.serverCpuUsPerDelivery, fr?.serverCpuUsPerDelivery, { kind: "ratio-max", value: 1.0 }));
      rows.push(row(`${what}: latency p50`, "ms", or?.p50Ms, fr?.p50Ms, null));
      // The p99 target is stated for 1,000 subscribers at the steady rate; elsewhere the ratio is shown unjudged.
      rows.push(row(`${what}: latency p99`, "ms", or?.p99Ms, fr?.p99Ms, kind === "steady" && n === "1000" ? { kind: "ratio-max", value: 1.5 } : null));
      if (kind === "steady") rows.push(row(`${what}: publish request max (ours: incl. commit)`, "ms", or?.publishMaxMs, fr?.publishMaxMs, null));
      rows.push(row(`${what}: load-client CPU per delivery`, "µs", or?.clientCpuUsPerDelivery, fr?.clientCpuUsPerDelivery, null));
    }
  }

  {
    const o = ok(res.memory.ours);
    const f = ok(res.memory.floor);
    if (o || f || res.memory.ours || res.memory.floor) {
      const note = notes(
        errOf(res.memory.ours) && `ours: ${errOf(res.memory.ours)}`,
        errOf(res.memory.floor) && `floor: ${errOf(res.memory.floor)}`,
        ...[o && ["ours", o] as const, f && ["floor", f] as const].flatMap((x) =>
          x ? x[1].runs.filter((r) => r.opened < r.conns).map((r) => `${x[0]}: only ${r.opened} of ${r.conns} opened (${r.failures[0] ?? ""})`) : [],
        ),
      );
      const n = (o ?? f)?.conns ?? res.options.idleConns;
      rows.push(row(`Memory per idle SSE connection (${n.toLocaleString("en-US")} conns, median of ${res.options.memoryRepeats} fresh starts)`, "KiB", o && o.bytesPerConn / 1024, f && f.bytesPerConn / 1024, { kind: "ratio-max", value: 1.1 }, note));
    }
  }

  {
    const o = ok(res.replay.ours);
    if (o || res.replay.ours) {
      const note = notes(errOf(res.replay.ours) && `ours: ${errOf(res.replay.ours)}`, o?.runs.find((r) => r.error)?.error ?? undefined);
      rows.push(row(`Catch-up replay, ${(o?.published ?? res.options.replayEvents).toLocaleString("en-US")} events from Last-Event-ID (median of ${res.options.replayRepeats})`, "events/s", o?.median.eventsPerSec, undefined, { kind: "min", value: 200_000 }, note));
      rows.push(row(`Catch-up replay: server CPU per event`, "µs", o?.median.serverCpuUsPerEvent, undefined, null));
    }
  }
  return rows;
}

/** A figure as the tables print it: rates whole with thousands separators, other figures to about three digits. */
export function fmt(v: number | null, unit: string): string {
  if (v === null) return "—";
  if (unit.endsWith("/s")) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** `columns` names the two compared columns and their ratio (the cluster table compares PostgreSQL with SQLite). */
export function formatTable(rows: Row[], columns: { ours: string; floor: string; ratio: string } = { ours: "Ours", floor: "Floor", ratio: "Ours/floor" }): string {
  const head = ["Figure", "Unit", columns.ours, columns.floor, columns.ratio, "Target", "Met"];
  const body = rows.map((r) => [
    r.figure,
    r.unit,
    fmt(r.ours, r.unit),
    fmt(r.floor, r.unit),
    r.ratio === null ? "—" : `${r.ratio.toFixed(2)}×`,
    r.target || "",
    r.pass === null ? "" : r.pass ? "yes" : "NO",
  ]);
  return layoutTable(head, body, [2, 4], tableNotes(rows));
}

/** The rows' notes, one line each under the table. */
export const tableNotes = (rows: readonly { figure: string; note?: string }[]): string[] => rows.filter((r) => r.note).map((r) => `  * ${r.figure}: ${r.note}`);

/**
 * A plain-text table: each column as wide as its widest cell, the columns
 * `right[0]` to `right[1]` (the figures) aligned right, then the notes.
 */
export function layoutTable(head: string[], body: string[][], right: [number, number], notes: string[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= right[0] && i <= right[1] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  const out = [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  if (notes.length) out.push("", "Notes:", ...notes);
  return out.join("\n");
}
