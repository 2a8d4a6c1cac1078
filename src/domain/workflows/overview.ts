import { and, desc, eq } from "drizzle-orm";
import { cappedCount } from "../../console/overview-count.js";
import { tenantPath, type AttentionEntry, type OverviewSource } from "../../console/overview.js";
import { LIMIT, preparedFor, STATE, TENANT } from "../../store/prepared.js";
import { WORKFLOW_TICKS } from "./feed.js";
import { workflows, type WorkflowState } from "./schema.js";

const inState = and(eq(workflows.tenant, TENANT), eq(workflows.state, STATE));
const countIn = cappedCount(workflows, inState);
const newestIn = preparedFor((db) =>
  db
    .select({ workflowId: workflows.workflowId, name: workflows.name, error: workflows.error, stage: workflows.stage, updatedAt: workflows.updatedAt, eventId: workflows.eventId })
    .from(workflows)
    .where(inState)
    .orderBy(desc(workflows.updatedAt), desc(workflows.eventId))
    .limit(LIMIT)
    .prepare(),
);

/**
 * Workflows on the overview: running, paused and failed counts, and the
 * failed and paused ones as the newest things to look at. Every query is a
 * range of workflows_tenant_state_updated_idx (newest first, bounded).
 */
export const workflowsOverview: OverviewSource = {
  topics: ["workflow"],
  tile(db, tenant) {
    const list = `${tenantPath(tenant)}/workflows`;
    const count = (state: WorkflowState) => countIn(db, { tenant, state });
    return {
      id: "workflows",
      title: "Workflows",
      href: list,
      counts: [
        { label: "running", count: count("running"), href: `${list}?state=running` },
        { label: "paused", count: count("paused"), href: `${list}?state=paused`, tone: "warn" },
        { label: "failed", count: count("failed"), href: `${list}?state=failed`, tone: "bad" },
      ],
    };
  },
  attention(db, tenant, limit) {
    const base = tenantPath(tenant);
    const entries: AttentionEntry[] = [];
    for (const state of ["failed", "paused"] as const) {
      const rows = newestIn(db).all({ tenant, state, limit });
      for (const w of rows) {
        const detail = state === "failed" ? w.error : w.stage && `at ${w.stage}`;
        entries.push({ kind: state, what: "workflow", label: w.name, detail: detail ?? null, href: `${base}/workflows/${encodeURIComponent(w.workflowId)}`, at: w.updatedAt, eventId: w.eventId });
      }
    }
    const group = (state: "failed" | "paused") => ({
      kind: state,
      what: "workflow",
      label: `${state} workflows`,
      count: countIn(db, { tenant, state }),
      href: `${base}/workflows?state=${state}`,
    });
    return { entries, groups: [group("failed"), group("paused")] };
  },
  // Progress moves a bar, never a workflow's state.
  quiet: (_db, e) => (WORKFLOW_TICKS as readonly string[]).includes(e.type),
};
