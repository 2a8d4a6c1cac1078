import type Database from "better-sqlite3";
import type { StoredEvent } from "../event.js";
import { matchesEveryType, typeMatcher } from "../hub/type-filter.js";
import type { StoredEventColumns } from "./event-columns.js";
import type { ReadPage, ReadQuery } from "./event-log.js";

/** An event's columns, in the order of a raw row (better-sqlite3's `raw` mode: arrays, not objects, a third cheaper to read). */
const COLUMNS = "id, tenant, type, subject, data, key, ts";
type EventRow = [number, string, string, string | null, string, string | null, number];
/** What a filtering scan reads per row: enough to decide, never `data` (which may be large). */
const SCAN_COLUMNS = "id, type, subject";

/** Bounds on the work of one read; tests shrink them to reach every path with little data. */
export interface ReadLimits {
  /** Summary rows examined, at most, to resolve a read's globs into the concrete types that exist. */
  maxTypesExamined: number;
  /** Type ranges merged by id, at most, in one read. */
  maxRanges: number;
  /** Rows a filtering scan examines, at most, in one read; `through` then says where the next one goes on. */
  scanRows: number;
}

const LIMITS: ReadLimits = { maxTypesExamined: 1000, maxRanges: 32, scanRows: 4000 };

type ScanRow = Pick<StoredEvent, "id" | "type" | "subject">;

/** How one read is answered: nothing can match, every row the statement returns matches, or rows are examined and filtered. */
type Plan =
  | { kind: "none" }
  | { kind: "exact"; stmt: Database.Statement; params: Record<string, unknown> }
  | { kind: "scan"; stmt: Database.Statement; params: Record<string, unknown>; keep: (row: ScanRow) => boolean };

/** One index range of the log: a tenant's events of one type, in id order. */
interface TypeRange {
  tenant: string;
  type: string;
}

/**
 * History reads (the events API, stream catch-up, the console's feed). Every
 * read goes through an index in id order and does bounded work, however
 * large the tenant and whatever the filter:
 *
 * - no filter: the tenant's `(tenant, id)` range;
 * - a subject: the `(tenant, subject, id)` range;
 * - type globs: resolved against `event_type_counts` to the concrete types
 *   the tenant has (a glob matching none answers at once), whose
 *   `(tenant, type, id)` ranges SQLite merges by id (a UNION ALL under one
 *   ORDER BY is a lazy k-way merge that stops at the page's limit);
 * - what that cannot answer exactly (a subject and types together, more
 *   types than `maxRanges`, a summary too large to resolve from, filtered
 *   reads of every tenant) examines at most `scanRows` rows of the narrowest
 *   range and filters them here, returning `through` = the last row examined
 *   so that the reader continues from there.
 *
 * It needs only a connection: the writer's today, a reader connection in
 * another thread tomorrow. Indexes are named (INDEXED BY) so the plan never
 * depends on the planner's statistics: without them it prefers the tenant's
 * whole range for a type filter.
 */
export class EventReader {
  readonly #db: Database.Database;
  readonly #limits: ReadLimits;
  readonly #merges = new Map<string, Database.Statement>();
  readonly #all: Database.Statement;
  readonly #tenant: Database.Statement;
  readonly #subject: Database.Statement;
  readonly #allScan: Database.Statement;
  readonly #tenantScan: Database.Statement;
  readonly #subjectScan: Database.Statement;
  readonly #byIds: Database.Statement;
  readonly #typeExists: Database.Statement;
  readonly #typesInRange: Database.Statement;
  readonly #allTypes: Database.Statement;

  constructor(db: Database.Database, limits: Partial<ReadLimits> = {}) {
    this.#db = db;
    this.#limits = { ...LIMITS, ...limits };
    const page = "id > @after ORDER BY id LIMIT @limit";
    const byTenant = "events INDEXED BY events_tenant_id_idx WHERE tenant = @tenant AND";
    const bySubject = "events INDEXED BY events_tenant_subject_id_idx WHERE tenant = @tenant AND subject = @subject AND";
    this.#all = db.prepare(`SELECT ${COLUMNS} FROM events WHERE ${page}`).raw(true);
    this.#tenant = db.prepare(`SELECT ${COLUMNS} FROM ${byTenant} ${page}`).raw(true);
    this.#subject = db.prepare(`SELECT ${COLUMNS} FROM ${bySubject} ${page}`).raw(true);
    this.#allScan = db.prepare(`SELECT ${SCAN_COLUMNS} FROM events WHERE ${page}`);
    this.#tenantScan = db.prepare(`SELECT ${SCAN_COLUMNS} FROM ${byTenant} ${page}`);
    this.#subjectScan = db.prepare(`SELECT ${SCAN_COLUMNS} FROM ${bySubject} ${page}`);
    this.#byIds = db.prepare(`SELECT ${COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`).raw(true);
    this.#typeExists = db.prepare("SELECT type FROM event_type_counts WHERE tenant = ? AND type = ?").pluck();
    this.#typesInRange = db.prepare("SELECT type FROM event_type_counts WHERE tenant = ? AND type >= ? AND type < ? LIMIT ?").pluck();
    this.#allTypes = db.prepare("SELECT tenant, type FROM event_type_counts LIMIT ?");
  }

  /**
   * Reads one page: matching events with ids in (`q.after`, `head`], oldest
   * first, and the position the page is complete through. Events above
   * `head` (committed, but not yet announced to the caller) are left to the
   * next read, so `through` never passes `head`.
   */
  read(q: ReadQuery, head: number): ReadPage {
    const { rows, through } = this.#rows(q, head);
    return { events: rows.map(([id, tenant, type, subject, data, key, ts]) => ({ id, tenant, type, subject, data, key, ts })), through };
  }

  /** `read`, with the page's events as columns: what a reader thread sends back, built without an object per event. */
  readColumns(q: ReadQuery, head: number): { events: StoredEventColumns; through: number } {
    const { rows, through } = this.#rows(q, head);
    const n = rows.length;
    const events: StoredEventColumns = {
      ids: new Array(n),
      tenants: new Array(n),
      types: new Array(n),
      subjects: new Array(n),
      data: new Array(n),
      keys: new Array(n),
      ts: new Array(n),
    };
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      events.ids[i] = row[0];
      events.tenants[i] = row[1];
      events.types[i] = row[2];
      events.subjects[i] = row[3];
      events.data[i] = row[4];
      events.keys[i] = row[5];
      events.ts[i] = row[6];
    }
    return { events, through };
  }

  #rows(q: ReadQuery, head: number): { rows: EventRow[]; through: number } {
    const plan = this.#plan(q);
    if (plan.kind === "none") return { rows: [], through: head };
    let rows: EventRow[];
    let through: number;
    if (plan.kind === "exact") {
      rows = plan.stmt.all({ ...plan.params, after: q.after, limit: q.limit }) as EventRow[];
      through = rows.length === q.limit ? rows[rows.length - 1][0] : head;
    } else {
      const scanned = plan.stmt.all({ ...plan.params, after: q.after, limit: this.#limits.scanRows }) as ScanRow[];
      const ids: number[] = [];
      for (const row of scanned) if (plan.keep(row) && ids.push(row.id) === q.limit) break;
      rows = ids.length === 0 ? [] : (this.#byIds.all(JSON.stringify(ids)) as EventRow[]);
      if (ids.length === q.limit) through = ids[ids.length - 1];
      else if (scanned.length === this.#limits.scanRows) through = scanned[scanned.length - 1].id;
      else through = head;
    }
    through = Math.min(through, head);
    if (rows.length > 0 && rows[rows.length - 1][0] > through) rows = rows.filter((row) => row[0] <= through);
    return { rows, through };
  }

  #plan(q: ReadQuery): Plan {
    const types = q.types.some(matchesEveryType) ? [] : q.types;
    const subject = q.subject || null;
    const tenant = q.tenant;
    if (types.length === 0) {
      if (subject === null) return tenant === null ? { kind: "exact", stmt: this.#all, params: {} } : { kind: "exact", stmt: this.#tenant, params: { tenant } };
      if (tenant !== null) return { kind: "exact", stmt: this.#subject, params: { tenant, subject } };
      return { kind: "scan", stmt: this.#allScan, params: {}, keep: (r) => r.subject === subject };
    }
    const matchType = typeMatcher(types)!;
    const ranges = this.#resolve(tenant, types, matchType);
    if (ranges !== null && ranges.length === 0) return { kind: "none" };
    if (tenant !== null && subject !== null) {
      return { kind: "scan", stmt: this.#subjectScan, params: { tenant, subject }, keep: (r) => matchType(r.type) };
    }
    if (ranges !== null && ranges.length <= this.#limits.maxRanges) {
      const params: Record<string, unknown> = {};
      ranges.forEach((r, i) => {
        params[`t${i}`] = r.tenant;
        params[`y${i}`] = r.type;
      });
      if (subject === null) return { kind: "exact", stmt: this.#merge(COLUMNS, ranges.length), params };
      return { kind: "scan", stmt: this.#merge(SCAN_COLUMNS, ranges.length), params, keep: (r) => r.subject === subject };
    }
    const keep = (r: ScanRow) => matchType(r.type) && (subject === null || r.subject === subject);
    return tenant === null ? { kind: "scan", stmt: this.#allScan, params: {}, keep } : { kind: "scan", stmt: this.#tenantScan, params: { tenant }, keep };
  }

  /**
   * The concrete (tenant, type) pairs the globs match, from the summary; null
   * when finding them would examine more than `maxTypesExamined` rows. A
   * glob's literal prefix (`call.` of `call.*`) narrows the summary range it
   * looks at.
   */
  #resolve(tenant: string | null, globs: readonly string[], matchType: (type: string) => boolean): TypeRange[] | null {
    const max = this.#limits.maxTypesExamined;
    if (tenant === null) {
      const pairs = this.#allTypes.all(max + 1) as TypeRange[];
      return pairs.length > max ? null : pairs.filter((p) => matchType(p.type));
    }
    const found = new Set<string>();
    let examined = 0;
    for (const glob of globs) {
      const star = glob.indexOf("*");
      if (star < 0) {
        examined++;
        if (this.#typeExists.get(tenant, glob) !== undefined) found.add(glob);
        continue;
      }
      const prefix = glob.slice(0, star);
      const room = max - examined;
      const types = this.#typesInRange.all(tenant, prefix, prefixEnd(prefix), room + 1) as string[];
      if (types.length > room) return null;
      examined += types.length;
      for (const type of types) if (matchType(type)) found.add(type);
    }
    return [...found].map((type) => ({ tenant, type }));
  }

  /** The merge of `count` type ranges by id: one SELECT per range under one ORDER BY, which SQLite runs as a lazy merge. */
  #merge(columns: string, count: number): Database.Statement {
    const id = `${columns}|${count}`;
    let stmt = this.#merges.get(id);
    if (!stmt) {
      const arms = Array.from(
        { length: count },
        (_, i) => `SELECT ${columns} FROM events INDEXED BY events_tenant_type_id_idx WHERE tenant = @t${i} AND type = @y${i} AND id > @after`,
      );
      stmt = this.#db.prepare(`${arms.join(" UNION ALL ")} ORDER BY id LIMIT @limit`);
      // Whole events come as raw rows, like every statement that reads them; scans read a few named columns.
      if (columns === COLUMNS) stmt.raw(true);
      this.#merges.set(id, stmt);
    }
    return stmt;
  }
}

/** The least string above every string that starts with `prefix` (in SQLite's binary order); for "" one above every type. */
function prefixEnd(prefix: string): string {
  if (prefix === "") return "\u{10FFFF}";
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
