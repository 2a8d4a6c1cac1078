import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { containing, searchedPage, windowEnd } from "../../store/search.js";
import { notOlderThan, olderThan, pageOf, type Cursor, type Page } from "../../store/keyset.js";
import { toWorkflow, type Workflow } from "./queries.js";
import { workflows, WORKFLOW_STATES, workflowStateCounts, type WorkflowState } from "./schema.js";

/** What the workflows list shows: one state's tab (null: all), a search, and where the page starts. */
export interface WorkflowListFilter {
  state: WorkflowState | null;
  /** Text the workflow's id or name contains (case-insensitive for ASCII). */
  q: string | null;
  before: Cursor | null;
}

/** How many workflows a page of the list holds. */
export const WORKFLOW_PAGE = 50;

/** A row's place in the list: the time it entered its state, then its id. */
export const workflowCursor = (w: Pick<Workflow, "stateAt" | "workflowId">): Cursor => ({ at: w.stateAt, id: w.workflowId });

/**
 * One page of the list, newest state first: through
 * `workflows_tenant_state_state_at_idx` for a tab, `workflows_tenant_state_at_idx`
 * for all, one seek to the cursor however deep the page.
 */
export function workflowPage(db: Db, tenant: string, filter: WorkflowListFilter, size = WORKFLOW_PAGE): Page<Workflow> {
  const range = and(eq(workflows.tenant, tenant), filter.state ? eq(workflows.state, filter.state) : undefined, olderThan(filter.before, workflows.stateAt, workflows.workflowId));
  const order = [desc(workflows.stateAt), desc(workflows.workflowId)];
  // A search reads one window of the range (from the index alone, to find its end), then its matches within it.
  const end = windowEnd(filter.q, db.select({ at: workflows.stateAt, id: workflows.workflowId }).from(workflows).where(range).orderBy(...order));
  const rows = db
    .select()
    .from(workflows)
    .where(and(range, containing([workflows.workflowId, workflows.name], filter.q), end && notOlderThan(end, workflows.stateAt, workflows.workflowId)))
    .orderBy(...order)
    .limit(size + 1)
    .all()
    .map(toWorkflow);
  return searchedPage(pageOf(rows, size, workflowCursor), end ?? null);
}

/** How many workflows a tenant has in each state: a row per state of the counts the projection keeps, however many workflows. */
export function workflowCounts(db: Db, tenant: string): Record<WorkflowState, number> {
  const counts = Object.fromEntries(WORKFLOW_STATES.map((s) => [s, 0])) as Record<WorkflowState, number>;
  const rows = db.select({ state: workflowStateCounts.state, n: workflowStateCounts.count }).from(workflowStateCounts).where(eq(workflowStateCounts.tenant, tenant)).all();
  for (const r of rows) counts[r.state] = r.n;
  return counts;
}
