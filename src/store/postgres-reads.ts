import type pg from "pg";
import type { StoredEvent } from "../event.js";
import type { ReadPage, ReadQuery } from "./event-log.js";
import { type EventRow, eventOfRow, finishPage, keptIds, planRead, READ_LIMITS, type Range, type ReadLimits, type ScanRow, type TypeRange, type TypeSummary } from "./read-plan.js";

const COLUMNS = "id, tenant, type, subject, data, key, ts";
const SCAN_COLUMNS = "id, type, subject";

/**
 * History reads on PostgreSQL, running the plans of read-plan.ts, so a read
 * returns the page SQLite would. PostgreSQL merges the ranges of a type
 * filter by id itself (a Merge Append of the per-type index scans, each
 * limited to the page).
 *
 * `head` is the caller's: the highest id its node has delivered. Ids become
 * visible in order (see APPEND_LOCK), so every event up to it is there to
 * read, and nothing above it is returned before the node announces it.
 */
export class PostgresReader {
  readonly #limits: ReadLimits;

  constructor(
    private readonly db: pg.Pool | pg.PoolClient,
    limits: Partial<ReadLimits> = {},
  ) {
    this.#limits = { ...READ_LIMITS, ...limits };
  }

  async read(q: ReadQuery, head: number): Promise<ReadPage> {
    const plan = planRead(q, await this.#summaryFor(q), this.#limits);
    if (plan.kind === "none") return { events: [], through: head };
    let page: { rows: EventRow[]; through: number };
    if (plan.kind === "exact") {
      page = finishPage(await this.#rows<EventRow>(plan.range, COLUMNS, q.after, q.limit), q, head);
    } else {
      const scanRows = this.#limits.scanRows;
      const scanned = (await this.#rows<[number, string, string | null]>(plan.range, SCAN_COLUMNS, q.after, scanRows)).map(
        ([id, type, subject]): ScanRow => ({ id, type, subject }),
      );
      const ids = keptIds(plan, scanned, q.limit);
      const rows = ids.length === 0 ? [] : await this.#query<EventRow>(`SELECT ${COLUMNS} FROM events WHERE id = ANY($1) ORDER BY id`, [ids]);
      page = finishPage(rows, q, head, { ids, scanned, scanRows });
    }
    const events = page.rows.map(eventOfRow);
    // Read after the page (not in its snapshot): a pass that committed meanwhile may be reported though the
    // page still had its events, which costs a reset that was not needed, never a loss unreported.
    if (q.tenant === null) return { events, through: page.through };
    const [pruned] = await this.#query<[number | null]>("SELECT pruned_through FROM tenants WHERE slug = $1", [q.tenant]);
    return { events, through: page.through, prunedThrough: pruned?.[0] ?? 0 };
  }

  #rows<R extends unknown[]>(range: Range, columns: string, after: number, limit: number): Promise<R[]> {
    switch (range.kind) {
      case "all":
        return this.#query(`SELECT ${columns} FROM events WHERE id > $1 ORDER BY id LIMIT $2`, [after, limit]);
      case "tenant":
        return this.#query(`SELECT ${columns} FROM events WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3`, [range.tenant, after, limit]);
      case "subject":
        return this.#query(`SELECT ${columns} FROM events WHERE tenant = $1 AND subject = $2 AND id > $3 ORDER BY id LIMIT $4`, [
          range.tenant,
          range.subject,
          after,
          limit,
        ]);
      case "types": {
        const params: unknown[] = [after, limit];
        const arms = range.ranges.map((r) => {
          params.push(r.tenant, r.type);
          const at = params.length;
          return `(SELECT ${columns} FROM events WHERE tenant = $${at - 1} AND type = $${at} AND id > $1 ORDER BY id LIMIT $2)`;
        });
        return this.#query(`SELECT ${columns} FROM (${arms.join(" UNION ALL ")}) AS merged ORDER BY id LIMIT $2`, params);
      }
    }
  }

  async #query<R extends unknown[]>(text: string, values: unknown[]): Promise<R[]> {
    const result = await this.db.query<R>({ text, values, rowMode: "array" });
    return result.rows;
  }

  /**
   * The type summary a plan of `q` will ask, fetched before planning (a plan
   * is made synchronously): a first planning against an empty summary says
   * which questions the globs lead to, each is answered in full (up to the
   * most a plan may examine), and the real plan then reads only those answers.
   */
  async #summaryFor(q: ReadQuery): Promise<TypeSummary> {
    const has = new Set<string>();
    const ranges = new Map<string, string[]>();
    let all: TypeRange[] = [];
    const asked: { has: [string, string][]; ranges: [string, string, string][]; all: boolean } = { has: [], ranges: [], all: false };
    planRead(
      q,
      {
        has: (tenant, type) => (asked.has.push([tenant, type]), false),
        typesIn: (tenant, from, to) => (asked.ranges.push([tenant, from, to]), []),
        all: () => ((asked.all = true), []),
      },
      this.#limits,
    );
    const most = this.#limits.maxTypesExamined + 1;
    for (const [tenant, type] of asked.has) {
      const rows = await this.#query(`SELECT 1 FROM event_type_counts WHERE tenant = $1 AND type = $2`, [tenant, type]);
      if (rows.length > 0) has.add(`${tenant}\n${type}`);
    }
    for (const [tenant, from, to] of asked.ranges) {
      const rows = await this.#query<[string]>(
        // Byte order, as SQLite compares: in a language's collation "call/" need not sort after every "call.…".
        `SELECT type FROM event_type_counts WHERE tenant = $1 AND type COLLATE "C" >= $2 AND type COLLATE "C" < $3 ORDER BY type COLLATE "C" LIMIT $4`,
        [tenant, from, to, most],
      );
      ranges.set(`${tenant}\n${from}\n${to}`, rows.map((r) => r[0]));
    }
    if (asked.all) {
      all = (await this.#query<[string, string]>("SELECT tenant, type FROM event_type_counts LIMIT $1", [most])).map(([tenant, type]) => ({ tenant, type }));
    }
    return {
      has: (tenant, type) => has.has(`${tenant}\n${type}`),
      typesIn: (tenant, from, to, limit) => (ranges.get(`${tenant}\n${from}\n${to}`) ?? []).slice(0, limit),
      all: (limit) => all.slice(0, limit),
    };
  }
}
