import type Database from "better-sqlite3";
import type { StoredEvent } from "../event.js";
import type { ReadPage, ReadQuery } from "./event-log.js";

const COLUMNS = "id, tenant, type, subject, data, key, ts";

/** History reads on one connection, with a prepared statement per query shape. */
export class EventReader {
  readonly #reads = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** One page of `q`; `head` is the log's head in the same snapshot, where a short page is complete through. */
  read(q: ReadQuery, head: number): ReadPage {
    const shape = `${q.tenant === null ? "all" : "one"}:${q.types.length}:${q.subject ? "s" : ""}`;
    let stmt = this.#reads.get(shape);
    if (!stmt) {
      const where = ["id > @after"];
      if (q.tenant !== null) where.push("tenant = @tenant");
      if (q.types.length > 0) where.push(`(${q.types.map((_, i) => `type GLOB @t${i}`).join(" OR ")})`);
      if (q.subject) where.push("subject = @subject");
      stmt = this.db.prepare(`SELECT ${COLUMNS} FROM events WHERE ${where.join(" AND ")} ORDER BY id LIMIT @limit`);
      this.#reads.set(shape, stmt);
    }
    const params: Record<string, unknown> = { after: q.after, limit: q.limit };
    if (q.tenant !== null) params.tenant = q.tenant;
    q.types.forEach((t, i) => (params[`t${i}`] = t));
    if (q.subject) params.subject = q.subject;
    const events = stmt.all(params) as StoredEvent[];
    const through = events.length === q.limit ? events[events.length - 1].id : head;
    return { events, through };
  }
}
