import type Database from "better-sqlite3";
import type pg from "pg";
import type { StoredEvent } from "../event.js";
import type { SubjectHistoryQuery } from "./event-log.js";
import { eventOfRow, type EventRow } from "./read-plan.js";

const COLUMNS = "id, tenant, type, subject, data, key, ts";

/**
 * A subject's history on SQLite, newest first (see EventLog.subjectHistory):
 * a backwards range of `events_tenant_subject_id_idx`, named so the plan never
 * depends on the planner's statistics. The topic filters rows as the range is
 * read (an exact prefix, as on PostgreSQL): as a range on `type` it would
 * lead SQLite to the type index, every event of the topic, and a sort.
 *
 * A bounded index range of one subject, like a projection read, so it runs
 * on the connection it is given: the main thread's.
 */
export class SqliteSubjectHistory {
  readonly #page: Database.Statement;

  constructor(db: Database.Database) {
    this.#page = db.prepare(
      `SELECT ${COLUMNS} FROM events INDEXED BY events_tenant_subject_id_idx
       WHERE tenant = @tenant AND subject = @subject AND id < @before AND substr(type, 1, length(@prefix)) = @prefix
       ORDER BY id DESC LIMIT @limit`,
    );
  }

  read(q: SubjectHistoryQuery): StoredEvent[] {
    const { tenant, subject, before, limit } = q;
    return this.#page.all({ tenant, subject, before, limit, prefix: `${q.topic}.` }) as StoredEvent[];
  }
}

/** The same page on PostgreSQL, from the shared log: a backward scan of the same index. */
export async function postgresSubjectHistory(db: pg.Pool, q: SubjectHistoryQuery): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>({
    text: `SELECT ${COLUMNS} FROM events WHERE tenant = $1 AND subject = $2 AND id < $3 AND starts_with(type, $4) ORDER BY id DESC LIMIT $5`,
    values: [q.tenant, q.subject, q.before, `${q.topic}.`, q.limit],
    rowMode: "array",
  });
  return rows.map(eventOfRow);
}
