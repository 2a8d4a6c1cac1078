import { and, asc, eq, isNotNull, sql } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { ID, preparedFor, TENANT } from "../../store/prepared.js";
import { workflows, type WorkflowState } from "./schema.js";

export type WorkflowRow = typeof workflows.$inferSelect;

export interface Workflow extends Omit<WorkflowRow, "stages"> {
  stages: string[];
}

export const toWorkflow = (r: WorkflowRow): Workflow => ({ ...r, stages: JSON.parse(r.stages) as string[] });

/** How many workflows a list returns unless asked for another number. */
export const DEFAULT_LIST = 100;
export const MAX_LIST = 1000;

const active = sql`${workflows.state} in ('running', 'paused')`;

/**
 * A tenant's workflows, optionally of one state: running and paused first
 * (newest started first, a stable order while they report progress), then
 * finished ones, most recently finished first.
 */
export function listWorkflows(db: Db, tenant: string, options: { state?: WorkflowState; limit?: number } = {}): Workflow[] {
  return db
    .select()
    .from(workflows)
    .where(and(eq(workflows.tenant, tenant), options.state ? eq(workflows.state, options.state) : undefined))
    .orderBy(
      sql`case when ${active} then 0 else 1 end`,
      sql`case when ${active} then ${workflows.startedAt} else ${workflows.updatedAt} end desc`,
      asc(workflows.workflowId),
    )
    .limit(options.limit ?? DEFAULT_LIST)
    .all()
    .map(toWorkflow);
}

/** By primary key, prepared once per database: the feed names every item's subject with it. */
const workflowById = preparedFor((db) =>
  db
    .select()
    .from(workflows)
    .where(and(eq(workflows.tenant, TENANT), eq(workflows.workflowId, ID)))
    .prepare(),
);

export function findWorkflow(db: Db, tenant: string, workflowId: string): Workflow | undefined {
  const row = workflowById(db).get({ tenant, id: workflowId });
  return row && toWorkflow(row);
}

/** Controls waiting for their worker, across tenants: their deadlines are re-armed on boot. */
export function pendingControls(db: Db): WorkflowRow[] {
  return db.select().from(workflows).where(isNotNull(workflows.pendingEventId)).all();
}
