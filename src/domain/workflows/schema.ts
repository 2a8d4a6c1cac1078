import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const WORKFLOW_STATES = ["running", "paused", "completed", "failed", "cancelled"] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];
export const CONTROL_ACTIONS = ["pause", "resume", "cancel"] as const;
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
    /** Whether the worker's command stream was open when the control was requested. */
    pendingDeliverable: integer("pending_deliverable", { mode: "boolean" }),
    /** The last control that expired unconfirmed, e.g. "pause", so it can be shown. */
    expiredAction: text("expired_action", { enum: CONTROL_ACTIONS }),
    startedAt: integer("started_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    eventId: integer("event_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.workflowId] }),
    // The overview's counts and its newest failed and paused workflows (src/domain/workflows/overview.ts).
    index("workflows_tenant_state_updated_idx").on(t.tenant, t.state, t.updatedAt),
  ],
);
