/**
 * The cluster table: PostgreSQL figures beside the SQLite node's from the
 * same run, held to issue 11's targets — ingest through one PostgreSQL node
 * of at least 30,000 acknowledged events/s, cross-node p50 within 5 ms of
 * same-node, and fan-out CPU per delivery on a PostgreSQL node within
 * 10% of the SQLite node's (as many streams on each).
 */
import type { ClusterFanout, ClusterFanoutRun } from "./cluster-fanout.js";
import type { ClusterIngestFigures } from "./cluster-ingest.js";
import type { Failed, Row } from "./report.js";
import type { ClusterResult, IngestCase } from "./scenario-cluster.js";

export const INGEST_MIN_EVENTS_PER_SEC = 30_000;
export const CROSS_NODE_P50_MAX_MS = 5;
export const FANOUT_CPU_MAX_RATIO = 1.1;

export const CLUSTER_COLUMNS = { ours: "PostgreSQL", floor: "SQLite", ratio: "PG/SQLite" };

const ok = <T>(v: T | Failed | undefined): T | undefined => (v && !("error" in (v as object)) ? (v as T) : undefined);
const errOf = (v: unknown): string | undefined => (v && typeof v === "object" && "error" in v ? String((v as Failed).error).split("\n")[0] : undefined);
const finite = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);
const notes = (...n: (string | undefined | false)[]) => n.filter(Boolean).join("; ") || undefined;

type Judge = { kind: "min"; value: number } | { kind: "max"; value: number } | { kind: "ratio-max"; value: number } | null;

function row(figure: string, unit: string, pg: number | undefined, sqlite: number | undefined, judge: Judge = null, note?: string): Row {
  const p = finite(pg);
  const s = finite(sqlite);
  const ratio = p !== null && s !== null && s !== 0 ? p / s : null;
  let target = "";
  let pass: boolean | null = null;
  if (judge?.kind === "min") {
    target = `≥ ${judge.value.toLocaleString("en-US")} ${unit}`;
    pass = p === null ? null : p >= judge.value;
  } else if (judge?.kind === "max") {
    target = `≤ ${judge.value} ${unit}`;
    pass = p === null ? null : p <= judge.value;
  } else if (judge?.kind === "ratio-max") {
    target = `≤ ${judge.value.toFixed(2)}× SQLite`;
    pass = ratio === null ? null : ratio <= judge.value;
  }
  return { figure, unit, ours: p, floor: s, ratio, target, pass, ...(note ? { note } : {}) };
}

const INGEST_LABELS: Record<Exclude<IngestCase, "sqlite">, string> = {
  pg1: "through 1 PG node (alone)",
  pg1of3: "through 1 PG node of 3",
  pg3: "spread over 3 PG nodes",
};

function ingestNote(f: ClusterIngestFigures | undefined, who: string): string | undefined {
  if (!f) return undefined;
  return notes(f.errors > 0 && `${who}: ${f.errors} errors (${f.errorSamples[0] ?? ""})`, f.otherCpuPct > 25 && `${who}: other processes used ${f.otherCpuPct.toFixed(0)}% of a core meanwhile`);
}

export function clusterRows(res: ClusterResult): Row[] {
  const rows: Row[] = [];
  if (res.error) return [row("Cluster scenario", "", undefined, undefined, null, res.error.split("\n")[0])];
  const sq = ok(res.ingest.sqlite);
  for (const c of ["pg1", "pg1of3", "pg3"] as const) {
    const r = res.ingest[c];
    if (!r && !res.ingest.sqlite) continue;
    const f = ok(r);
    const any = f ?? sq;
    const label = `NDJSON ingest, ${any?.conns ?? "?"} conns × ${any?.batch ?? "?"}, ${INGEST_LABELS[c]}`;
    const note = notes(errOf(r) && `PG: ${errOf(r)}`, errOf(res.ingest.sqlite) && `SQLite: ${errOf(res.ingest.sqlite)}`, ingestNote(f, "PG"), ingestNote(sq, "SQLite"));
    // The target is one node's, as on a cluster whose other nodes run on other machines: here B and C
    // share the two cores, and their replicas' work is taken from node A's.
    const judge: Judge = c === "pg1" ? { kind: "min", value: INGEST_MIN_EVENTS_PER_SEC } : null;
    rows.push(row(`${label}: durable events/s`, "events/s", f?.eventsPerSec, sq?.eventsPerSec, judge, note));
    const running = f ? (f.running.length === 1 ? "its node" : `sum over the ${f.running.length} nodes running`) : "?";
    rows.push(row(`${label}: Switchboard CPU per event (${running})`, "µs", f?.serverCpuUsPerEvent, sq?.serverCpuUsPerEvent));
    rows.push(row(`${label}: PostgreSQL CPU per event`, "µs", f?.postgresCpuUsPerEvent, undefined));
    rows.push(row(`${label}: request p99`, "ms", f?.requestP99Ms, sq?.requestP99Ms));
  }

  if (res.latency) {
    const l = ok(res.latency);
    const err = errOf(res.latency);
    const c = l?.cases;
    const head = l ? `Latency, ${l.streams} streams on ${c!.same.streamsOn}, ${l.rate} ev/s` : "Latency";
    const probs = (k: "sqlite" | "same" | "cross") => (c?.[k].problems.length ? `${k}: ${c[k].problems.join(", ")}` : undefined);
    const note = notes(err, probs("sqlite"), probs("same"), probs("cross"));
    rows.push(row(`${head}: p50, publish to ${c?.same.publishTo ?? "A"} (same node)`, "ms", c?.same.p50Ms, c?.sqlite.p50Ms, null, note));
    rows.push(row(`${head}: p50, publish to ${c?.cross.publishTo ?? "B"} (cross node)`, "ms", c?.cross.p50Ms, c?.sqlite.p50Ms));
    rows.push(row(`${head}: p50, cross − same node`, "ms", l?.crossMinusSameP50Ms, undefined, { kind: "max", value: CROSS_NODE_P50_MAX_MS }));
    rows.push(row(`${head}: p99, same node`, "ms", c?.same.p99Ms, c?.sqlite.p99Ms));
    rows.push(row(`${head}: p99, cross node`, "ms", c?.cross.p99Ms, c?.sqlite.p99Ms));
    rows.push(row(`${head}: p99, cross − same node`, "ms", l?.crossMinusSameP99Ms, undefined));
    rows.push(row(`${head}: publish request p99 (incl. commit), same node`, "ms", c?.same.publishP99Ms, c?.sqlite.publishP99Ms));
  }

  if (res.fanout) rows.push(...fanoutRows(res.fanout, null));
  if (res.fanoutPerNode) rows.push(...fanoutRows(res.fanoutPerNode, { kind: "ratio-max", value: FANOUT_CPU_MAX_RATIO }));

  if (res.deaths.length) rows.push(row("Nodes that died during the run", "nodes", res.deaths.length, undefined, { kind: "max", value: 0 }, res.deaths.map((d) => d.split("\n")[0]).join("; ")));
  return rows;
}

/**
 * A fan-out phase's rows; `judge` holds each PostgreSQL node's CPU per delivery to the SQLite node's. The
 * target is judged where both serve as many streams (the per-node phase): with all of them on one
 * SQLite node, two cores are overloaded and queued events leave several to a write.
 */
function fanoutRows(res: ClusterFanout | Failed, judge: Judge): Row[] {
  const rows: Row[] = [];
  const fo = ok(res);
  const pgSide = ok(fo?.postgres);
  const sqSide = ok(fo?.sqlite);
  const p = pgSide?.median;
  const s = sqSide?.median;
  const subs = fo ? fo.subscribers.toLocaleString("en-US") : "?";
  const where = pgSide ? (pgSide.nodes.length === 1 ? `on ${pgSide.nodes[0]} alone` : `over ${pgSide.nodes.length} PG nodes`) : "";
  const head = fo ? `Fan-out ${subs} streams ${where}, ${fo.rate} ev/s × ${fo.eventsPerRun} ev (median of ${pgSide?.runs.length ?? sqSide?.runs.length ?? 0})` : "Fan-out";
  const problems = (r: ClusterFanoutRun | undefined, who: string) =>
    notes(r !== undefined && r.problems.length > 0 && `${who}: ${r.problems.join(", ")}`, r && r.otherCpuPct > 25 && `${who}: other processes used ${r.otherCpuPct.toFixed(0)}% of a core meanwhile`);
  const note = notes(errOf(res), errOf(fo?.postgres) && `PG: ${errOf(fo?.postgres)}`, errOf(fo?.sqlite) && `SQLite: ${errOf(fo?.sqlite)}`, problems(p, "PG"), problems(s, "SQLite"));
  rows.push(row(`${head}: deliveries/s (PG: all nodes)`, "deliveries/s", p?.deliveredPerSec, s?.deliveredPerSec, null, note));
  const labels = pgSide?.nodes ?? ["pg-a"];
  for (const [i, label] of labels.entries()) {
    const n = p?.nodes[label];
    const what = `${label}${i === 0 ? ", takes the publishes" : ""}${n ? `, ${n.streams.toLocaleString("en-US")} streams` : ""}`;
    rows.push(row(`${head}: server CPU per delivery, ${what}`, "µs", n?.cpuUsPerDelivery, s?.serverCpuUsPerDelivery, judge));
  }
  if (labels.length > 1) rows.push(row(`${head}: server CPU per delivery, all PG nodes together`, "µs", p?.serverCpuUsPerDelivery, s?.serverCpuUsPerDelivery));
  rows.push(row(`${head}: PostgreSQL CPU per delivery`, "µs", p?.postgresCpuUsPerDelivery, undefined));
  rows.push(row(`${head}: latency p50`, "ms", p?.p50Ms, s?.p50Ms));
  rows.push(row(`${head}: latency p99`, "ms", p?.p99Ms, s?.p99Ms));
  rows.push(row(`${head}: load-client CPU per delivery`, "µs", p?.clientCpuUsPerDelivery, s?.clientCpuUsPerDelivery));
  return rows;
}
