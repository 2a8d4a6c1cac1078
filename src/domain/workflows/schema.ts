import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const WORKFLOW_STATES = ["running", "paused", "completed", "failed", "cancelled"] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];
export const CONTROL_ACTIONS = ["pause", "resume", "cancel", "retry"] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

/** Current state of every workflow; kept regardless of event retention. */
export const workflows = sqliteTable(
  "workflows",
  {
    tenant: text("tenant").notNull(),
    workflowId: text("workflow_id").notNull(),
    name: text("name").notNull(),
    /** JSON array of stage names, in order. */
    stages: text("stages").notNull().default("[]"),
    stage: text("stage"),
    task: text("task"),
    /** 0..1 */
    progress: real("progress").notNull().default(0),
    state: text("state", { enum: WORKFLOW_STATES }).notNull(),
    /** The worker running it: where its controls are delivered. */
    worker: text("worker"),
    error: text("error"),
    /** For failed workflows: whether retrying may succeed. */
    retryable: integer("retryable", { mode: "boolean" }),
    /** A control requested and not yet confirmed by the worker (or expired). */
    pendingAction: text("pending_action", { enum: CONTROL_ACTIONS }),
    pendingEventId: integer("pending_event_id"),
    pendingAt: integer("pending_at"),
    /** Why the operator asked (a cancel's reason), until the worker confirms: the cancel then keeps it. */
    pendingReason: text("pending_reason"),
    /** Whether the worker's command stream was open when the control was requested. */
    pendingDeliverable: integer("pending_deliverable", { mode: "boolean" }),
    /** The last control that expired unconfirmed, e.g. "pause", so it can be shown. */
    expiredAction: text("expired_action", { enum: CONTROL_ACTIONS }),
    /** 1, then one more for each retry. */
    attempt: integer("attempt").notNull().default(1),
    startedAt: integer("started_at").notNull(),
    /**
     * When it entered its state (started, paused, resumed, finished,
     * retried): what lists sort by, newest first, as Oban Web and Temporal
     * do. Progress never changes it, so a running list holds still.
     */
    stateAt: integer("state_at").notNull().default(0),
    updatedAt: integer("updated_at").notNull(),
    eventId: integer("event_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.workflowId] }),
    // The overview's counts and its newest failed and paused workflows (src/domain/workflows/overview.ts).
    index("workflows_tenant_state_updated_idx").on(t.tenant, t.state, t.updatedAt),
    // The console's lists: every workflow, and one state's tab, newest first by keyset (src/domain/workflows/list.ts).
    index("workflows_tenant_state_at_idx").on(t.tenant, t.stateAt, t.workflowId),
    index("workflows_tenant_state_state_at_idx").on(t.tenant, t.state, t.stateAt, t.workflowId),
  ],
);

/**
 * How many workflows each tenant has in each state: what the list's tabs
 * count from, one row read per state however many workflows there are
 * (counting the state index costs a pass over 200,000 rows: 60 ms). Kept
 * in step with `workflows` by the projection, in the same transaction.
 */
export const workflowStateCounts = sqliteTable(
  "workflow_state_counts",
  {
    tenant: text("tenant").notNull(),
    state: text("state", { enum: WORKFLOW_STATES }).notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.state] })],
);
