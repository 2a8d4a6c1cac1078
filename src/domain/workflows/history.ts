import { and, desc, eq, like, lt } from "drizzle-orm";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { events } from "../../store/schema.js";

/** How many events a page of a workflow's history holds. */
export const HISTORY_PAGE = 50;

/** One page of a workflow's history, newest first, and the event id the next (older) page starts below (null: none). */
export interface HistoryPage {
  events: StoredEvent[];
  older: number | null;
}

/**
 * A workflow's events, newest first, below `before` (null: from the
 * newest): a keyset page on event id through `events_tenant_subject_id_idx`,
 * one seek however long the history. Read with the state, in one snapshot
 * (`log.atHead`), on the connection projections are read from: a bounded
 * index range of one subject, like a projection read, not a scan of the log.
 * Events of other topics that share the id (an agent named like the
 * workflow) are skipped as the range is read.
 */
export function workflowHistory(db: Db, tenant: string, workflowId: string, before: number | null, size = HISTORY_PAGE): HistoryPage {
  const rows = db
    .select({ id: events.id, tenant: events.tenant, type: events.type, subject: events.subject, data: events.data, key: events.key, ts: events.ts })
    .from(events)
    .where(
      and(
        eq(events.tenant, tenant),
        eq(events.subject, workflowId),
        // A LIKE (case-insensitive, so never an index bound) filters the subject's range: as a range on
        // `type`, it would lead SQLite to the type index, every workflow event of the tenant, and a sort.
        like(events.type, "workflow.%"),
        before === null ? undefined : lt(events.id, before),
      ),
    )
    .orderBy(desc(events.id))
    .limit(size + 1)
    .all() as StoredEvent[];
  if (rows.length <= size) return { events: rows, older: null };
  const shown = rows.slice(0, size);
  return { events: shown, older: shown[shown.length - 1].id };
}
