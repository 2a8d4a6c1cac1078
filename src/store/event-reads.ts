import type Database from "better-sqlite3";
import type { StoredEventColumns } from "./event-columns.js";
import type { ReadPage, ReadQuery } from "./event-log.js";
import { type EventRow, finishPage, keptIds, planRead, READ_LIMITS, type Range, type ReadLimits, type ScanRow, type TypeRange, type TypeSummary } from "./read-plan.js";

export type { ReadLimits } from "./read-plan.js";

/** An event's columns, in the order of a raw row (better-sqlite3's `raw` mode: arrays, not objects, a third cheaper to read). */
const COLUMNS = "id, tenant, type, subject, data, key, ts";
const SCAN_COLUMNS = "id, type, subject";
/**
 * An event's JSON stream frame as SQLite builds it: the id, the ts, and the
 * frame up to the ts's ISO text, which finishJsonFrame (hub/json-frame.ts)
 * adds. The same bytes as jsonFrame (test/event-reads.test.ts): a subject has
 * no control character and no lone surrogate (event.ts), so json_quote
 * escapes it as JSON.stringify does. A replay's reader gets one string per
 * event instead of five, and no frame is assembled in JavaScript: about a
 * third of the reader's time per event (bench/README).
 */
const FRAME_COLUMNS = `id, ts, printf('id: %d
event: %s
data: {"id":%d,"tenant":"%s","type":"%s","subject":%s,"data":%s,"ts":"', id, type, id, tenant, type, json_quote(subject), data)`;

/** A row of FRAME_COLUMNS. */
export type FrameRow = [id: number, ts: number, start: string];

/**
 * History reads on SQLite (the events API, stream catch-up, the console's
 * feed), running the plans of read-plan.ts: every read goes through an index
 * in id order and does bounded work, however large the tenant and whatever
 * the filter. SQLite runs a merge of type ranges (a UNION ALL under one
 * ORDER BY) as a lazy k-way merge that stops at the page's limit.
 *
 * It needs only a connection: the reader threads' own.
 */
export class EventReader {
  readonly #db: Database.Database;
  readonly #limits: ReadLimits;
  /** Statements by their SQL, prepared on first use. */
  readonly #prepared = new Map<string, Database.Statement>();
  readonly #typeExists: Database.Statement;
  readonly #typesInRange: Database.Statement;
  readonly #allTypes: Database.Statement;

  constructor(db: Database.Database, limits: Partial<ReadLimits> = {}) {
    this.#db = db;
    this.#limits = { ...READ_LIMITS, ...limits };
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
    const { rows, through } = this.#rows<EventRow>(q, head, COLUMNS);
    return { events: rows.map(([id, tenant, type, subject, data, key, ts]) => ({ id, tenant, type, subject, data, key, ts })), through };
  }

  /** `read`, with the page's events as columns: what a reader thread sends back, built without an object per event. */
  readColumns(q: ReadQuery, head: number): { events: StoredEventColumns; through: number } {
    const { rows, through } = this.#rows<EventRow>(q, head, COLUMNS);
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

  /** `read`, each event as the start of its JSON stream frame (see FRAME_COLUMNS): a replay's page. */
  readFrames(q: ReadQuery, head: number): { rows: FrameRow[]; through: number } {
    return this.#rows<FrameRow>(q, head, FRAME_COLUMNS);
  }

  #rows<R extends EventRow | FrameRow>(q: ReadQuery, head: number, columns: string): { rows: R[]; through: number } {
    const plan = planRead(q, this.#summary, this.#limits);
    if (plan.kind === "none") return { rows: [], through: head };
    const [stmt, params] = this.#statement(plan.range, plan.kind === "exact" ? columns : SCAN_COLUMNS);
    if (plan.kind === "exact") return finishPage(stmt.all({ ...params, after: q.after, limit: q.limit }) as R[], q, head);
    const scanRows = this.#limits.scanRows;
    const scanned = stmt.all({ ...params, after: q.after, limit: scanRows }) as ScanRow[];
    const ids = keptIds(plan, scanned, q.limit);
    const rows = ids.length === 0 ? [] : (this.#byIds(columns).all(JSON.stringify(ids)) as R[]);
    return finishPage(rows, q, head, { ids, scanned, scanRows });
  }

  /** The statement reading the events of a scan's page (their ids, as a JSON array) by id. */
  #byIds(columns: string): Database.Statement {
    return this.#prepare(`SELECT ${columns} FROM events WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`, true);
  }

  /** The statement reading a range, whole events (or their frames) or the columns a scan filters on, and its parameters. */
  #statement(range: Range, columns: string): [Database.Statement, Record<string, unknown>] {
    const [sql, params] = rangeQuery(range, columns);
    // Whole events and frames come as raw rows; scans read a few named columns.
    return [this.#prepare(sql, columns !== SCAN_COLUMNS), params];
  }

  /** The statement of `sql`, prepared on its first use. */
  #prepare(sql: string, raw: boolean): Database.Statement {
    let stmt = this.#prepared.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      if (raw) stmt.raw(true);
      this.#prepared.set(sql, stmt);
    }
    return stmt;
  }

  /** The type summary as plans ask it, from event_type_counts. */
  readonly #summary: TypeSummary = {
    has: (tenant, type) => this.#typeExists.get(tenant, type) !== undefined,
    typesIn: (tenant, from, to, limit) => this.#typesInRange.all(tenant, from, to, limit) as string[],
    all: (limit) => this.#allTypes.all(limit) as TypeRange[],
  };
}

/**
 * The SQL reading `columns` of a range's next page, and its parameters.
 * Indexes are named (INDEXED BY) so the plan never depends on the planner's
 * statistics: without them it prefers the tenant's whole range for a type
 * filter.
 */
function rangeQuery(range: Range, columns: string): [string, Record<string, unknown>] {
  const page = "id > @after ORDER BY id LIMIT @limit";
  switch (range.kind) {
    case "all":
      return [`SELECT ${columns} FROM events WHERE ${page}`, {}];
    case "tenant":
      return [`SELECT ${columns} FROM events INDEXED BY events_tenant_id_idx WHERE tenant = @tenant AND ${page}`, { tenant: range.tenant }];
    case "subject": {
      const sql = `SELECT ${columns} FROM events INDEXED BY events_tenant_subject_id_idx WHERE tenant = @tenant AND subject = @subject AND ${page}`;
      return [sql, { tenant: range.tenant, subject: range.subject }];
    }
    case "types": {
      const params: Record<string, unknown> = {};
      range.ranges.forEach((r, i) => {
        params[`t${i}`] = r.tenant;
        params[`y${i}`] = r.type;
      });
      // The merge of the type ranges by id: one SELECT per range under one ORDER BY, which SQLite runs as a lazy merge.
      const arms = range.ranges.map(
        (_, i) => `SELECT ${columns} FROM events INDEXED BY events_tenant_type_id_idx WHERE tenant = @t${i} AND type = @y${i} AND id > @after`,
      );
      return [`${arms.join(" UNION ALL ")} ORDER BY id LIMIT @limit`, params];
    }
  }
}
