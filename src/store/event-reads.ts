import type Database from "better-sqlite3";
import type { StoredEventColumns } from "./event-columns.js";
import type { ReadPage, ReadQuery } from "./event-log.js";
import { type EventRow, finishPage, keptIds, planRead, READ_LIMITS, type Range, type ReadLimits, type ScanRow, type TypeRange, type TypeSummary } from "./read-plan.js";

export type { ReadLimits } from "./read-plan.js";

/** An event's columns, in the order of a raw row (better-sqlite3's `raw` mode: arrays, not objects, a third cheaper to read). */
const COLUMNS = "id, tenant, type, subject, data, key, ts";
const SCAN_COLUMNS = "id, type, subject";

/**
 * History reads on SQLite (the events API, stream catch-up, the console's
 * feed), running the plans of read-plan.ts: every read goes through an index
 * in id order and does bounded work, however large the tenant and whatever
 * the filter. SQLite runs a merge of type ranges (a UNION ALL under one
 * ORDER BY) as a lazy k-way merge that stops at the page's limit.
 *
 * It needs only a connection: the reader threads' own. Indexes are named
 * (INDEXED BY) so the plan never depends on the planner's statistics:
 * without them it prefers the tenant's whole range for a type filter.
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
    this.#limits = { ...READ_LIMITS, ...limits };
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
    const plan = planRead(q, this.#summary, this.#limits);
    if (plan.kind === "none") return { rows: [], through: head };
    const [stmt, params] = this.#statement(plan.range, plan.kind === "exact" ? COLUMNS : SCAN_COLUMNS);
    if (plan.kind === "exact") return finishPage(stmt.all({ ...params, after: q.after, limit: q.limit }) as EventRow[], q, head);
    const scanRows = this.#limits.scanRows;
    const scanned = stmt.all({ ...params, after: q.after, limit: scanRows }) as ScanRow[];
    const ids = keptIds(plan, scanned, q.limit);
    const rows = ids.length === 0 ? [] : (this.#byIds.all(JSON.stringify(ids)) as EventRow[]);
    return finishPage(rows, q, head, { ids, scanned, scanRows });
  }

  /** The statement reading a range, whole events or the columns a scan filters on, and its parameters. */
  #statement(range: Range, columns: string): [Database.Statement, Record<string, unknown>] {
    const whole = columns === COLUMNS;
    switch (range.kind) {
      case "all":
        return [whole ? this.#all : this.#allScan, {}];
      case "tenant":
        return [whole ? this.#tenant : this.#tenantScan, { tenant: range.tenant }];
      case "subject":
        return [whole ? this.#subject : this.#subjectScan, { tenant: range.tenant, subject: range.subject }];
      case "types": {
        const params: Record<string, unknown> = {};
        range.ranges.forEach((r, i) => {
          params[`t${i}`] = r.tenant;
          params[`y${i}`] = r.type;
        });
        return [this.#merge(columns, range.ranges.length), params];
      }
    }
  }

  /** The type summary as plans ask it, from event_type_counts. */
  readonly #summary: TypeSummary = {
    has: (tenant, type) => this.#typeExists.get(tenant, type) !== undefined,
    typesIn: (tenant, from, to, limit) => this.#typesInRange.all(tenant, from, to, limit) as string[],
    all: (limit) => this.#allTypes.all(limit) as TypeRange[],
  };

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
