import type { StoredEvent } from "../../event.js";
import type { EventLog } from "../../store/event-log.js";

/** How many events a page of a workflow's history holds. */
export const HISTORY_PAGE = 50;

/** One page of a workflow's history, newest first, and the event id the next (older) page starts below (null: none). */
export interface HistoryPage {
  events: StoredEvent[];
  older: number | null;
}

/**
 * A workflow's events, newest first, below `before` (null: from the
 * newest): a keyset page on event id through the log's subject index, one
 * seek however long the history. Read from the log, not the state's
 * connection: on PostgreSQL a node's copy of the state keeps only the log's
 * latest events. Nothing above `head` (the position the page's state was
 * read at) is shown: what came after reaches the page by its stream.
 * Events of other topics that share the id (an agent named like the
 * workflow) are skipped as the range is read.
 */
export async function workflowHistory(
  log: EventLog,
  tenant: string,
  workflowId: string,
  before: number | null,
  head: number,
  size = HISTORY_PAGE,
): Promise<HistoryPage> {
  const below = before === null ? head + 1 : Math.min(before, head + 1);
  const rows = await log.subjectHistory({ tenant, subject: workflowId, topic: "workflow", before: below, limit: size + 1 });
  if (rows.length <= size) return { events: rows, older: null };
  const shown = rows.slice(0, size);
  return { events: shown, older: shown[shown.length - 1].id };
}
