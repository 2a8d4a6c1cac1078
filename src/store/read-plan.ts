import type { StoredEvent } from "../event.js";
import { matchesEveryType, typeMatcher } from "../hub/type-filter.js";
import type { ReadQuery } from "./event-log.js";

/**
 * How a history read is answered, whatever the database: which index range
 * of the log it reads, and whether every row of it matches or rows are
 * examined and filtered. The SQLite reader (event-reads.ts) and the
 * PostgreSQL one (postgres-reads.ts) run the same plans, so a read returns
 * the same page on either.
 */

/** An event's columns, in the order of a raw row. */
export type EventRow = [number, string, string, string | null, string, string | null, number];

/**
 * A row of `id, tenant, type, subject, data, key, ts` (read with `rowMode: "array"`) as an event, built as
 * the events a node appends are: one object literal in this order. V8 gives an object its hidden class by
 * how it was built, and the driver's row objects (copies of a template of nulls) get another one; once the
 * hub's fan-out and frame encoding had seen both kinds, every delivery cost a PostgreSQL node about 15% more
 * (bench/README, "Several nodes on PostgreSQL").
 */
export const eventOfRow = ([id, tenant, type, subject, data, key, ts]: EventRow): StoredEvent => ({ id, tenant, type, subject, data, key, ts });

/** What a filtering scan reads per row: enough to decide, never `data` (which may be large). */
export type ScanRow = Pick<StoredEvent, "id" | "type" | "subject">;

/** Bounds on the work of one read; tests shrink them to reach every path with little data. */
export interface ReadLimits {
  /** Summary rows examined, at most, to resolve a read's globs into the concrete types that exist. */
  maxTypesExamined: number;
  /** Type ranges merged by id, at most, in one read. */
  maxRanges: number;
  /** Rows a filtering scan examines, at most, in one read; `through` then says where the next one goes on. */
  scanRows: number;
}

export const READ_LIMITS: ReadLimits = { maxTypesExamined: 1000, maxRanges: 32, scanRows: 4000 };

/** One index range of the log: a tenant's events of one type, in id order. */
export interface TypeRange {
  tenant: string;
  type: string;
}

/** An index range of the log, read in id order. */
export type Range =
  | { kind: "all" }
  | { kind: "tenant"; tenant: string }
  | { kind: "subject"; tenant: string; subject: string }
  /** Several type ranges merged by id. */
  | { kind: "types"; ranges: TypeRange[] };

/** Nothing can match; every row of the range matches; or rows are examined and filtered. */
export type Plan = { kind: "none" } | { kind: "exact"; range: Range } | { kind: "scan"; range: Range; keep: (row: ScanRow) => boolean };

/** The summary of which types each tenant has (event_type_counts), as a plan asks it. */
export interface TypeSummary {
  has(tenant: string, type: string): boolean;
  /** Up to `limit` types of the tenant in [from, to), in order. */
  typesIn(tenant: string, from: string, to: string, limit: number): string[];
  /** Up to `limit` (tenant, type) pairs of every tenant. */
  all(limit: number): TypeRange[];
}

/**
 * The plan of a read: every index it may use, and bounded work whatever
 * the tenant's size and the filter:
 *
 * - no filter: the tenant's `(tenant, id)` range;
 * - a subject: the `(tenant, subject, id)` range;
 * - type globs: resolved against the summary to the concrete types the
 *   tenant has (a glob matching none answers at once), whose
 *   `(tenant, type, id)` ranges are merged by id;
 * - what that cannot answer exactly (a subject and types together, more
 *   types than `maxRanges`, a summary too large to resolve from, filtered
 *   reads of every tenant) examines at most `scanRows` rows of the narrowest
 *   range and filters them, returning `through` = the last row examined.
 */
export function planRead(q: ReadQuery, summary: TypeSummary, limits: ReadLimits): Plan {
  const types = q.types.some(matchesEveryType) ? [] : q.types;
  const subject = q.subject || null;
  const tenant = q.tenant;
  if (types.length === 0) {
    if (subject === null) return { kind: "exact", range: tenant === null ? { kind: "all" } : { kind: "tenant", tenant } };
    if (tenant !== null) return { kind: "exact", range: { kind: "subject", tenant, subject } };
    return { kind: "scan", range: { kind: "all" }, keep: (r) => r.subject === subject };
  }
  const matchType = typeMatcher(types)!;
  const ranges = resolveTypes(tenant, types, matchType, summary, limits.maxTypesExamined);
  if (ranges !== null && ranges.length === 0) return { kind: "none" };
  if (tenant !== null && subject !== null) return { kind: "scan", range: { kind: "subject", tenant, subject }, keep: (r) => matchType(r.type) };
  if (ranges !== null && ranges.length <= limits.maxRanges) {
    if (subject === null) return { kind: "exact", range: { kind: "types", ranges } };
    return { kind: "scan", range: { kind: "types", ranges }, keep: (r) => r.subject === subject };
  }
  const keep = (r: ScanRow) => matchType(r.type) && (subject === null || r.subject === subject);
  return { kind: "scan", range: tenant === null ? { kind: "all" } : { kind: "tenant", tenant }, keep };
}

/**
 * The concrete (tenant, type) pairs the globs match, from the summary; null
 * when finding them would examine more than `max` rows. A glob's literal
 * prefix (`call.` of `call.*`) narrows the summary range it looks at.
 */
function resolveTypes(tenant: string | null, globs: readonly string[], matchType: (type: string) => boolean, summary: TypeSummary, max: number): TypeRange[] | null {
  if (tenant === null) {
    const pairs = summary.all(max + 1);
    return pairs.length > max ? null : pairs.filter((p) => matchType(p.type));
  }
  const found = new Set<string>();
  let examined = 0;
  for (const glob of globs) {
    const star = glob.indexOf("*");
    if (star < 0) {
      examined++;
      if (summary.has(tenant, glob)) found.add(glob);
      continue;
    }
    const prefix = glob.slice(0, star);
    const room = max - examined;
    const types = summary.typesIn(tenant, prefix, prefixEnd(prefix), room + 1);
    if (types.length > room) return null;
    examined += types.length;
    for (const type of types) if (matchType(type)) found.add(type);
  }
  return [...found].map((type) => ({ tenant, type }));
}

/** The least string above every string that starts with `prefix` (in binary order); for "" one above every type. */
function prefixEnd(prefix: string): string {
  if (prefix === "") return "\u{10FFFF}";
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** The ids a scan keeps: the matching rows examined, up to the page's limit. */
export function keptIds(plan: Extract<Plan, { kind: "scan" }>, scanned: readonly ScanRow[], limit: number): number[] {
  const ids: number[] = [];
  for (const row of scanned) if (plan.keep(row) && ids.push(row.id) === limit) break;
  return ids;
}

/**
 * Where a page is complete through: its last event when full; after a scan
 * that examined all it may, the last row examined; else the head the read
 * saw. Never past `head`: events above it (committed, not yet announced) are
 * the next read's, and rows beyond it are dropped.
 */
export function finishPage<R extends readonly [number, ...unknown[]]>(
  rows: R[],
  q: ReadQuery,
  head: number,
  scan?: { ids: readonly number[]; scanned: readonly ScanRow[]; scanRows: number },
): { rows: R[]; through: number } {
  let through: number;
  if (!scan) through = rows.length === q.limit ? rows[rows.length - 1][0] : head;
  else if (scan.ids.length === q.limit) through = scan.ids[scan.ids.length - 1];
  else if (scan.scanned.length === scan.scanRows) through = scan.scanned[scan.scanned.length - 1].id;
  else through = head;
  through = Math.min(through, head);
  if (rows.length > 0 && rows[rows.length - 1][0] > through) rows = rows.filter((row) => row[0] <= through);
  return { rows, through };
}
