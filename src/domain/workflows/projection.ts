import { and, eq, sql } from "drizzle-orm";
import type { z } from "zod";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { AppendRejected } from "../../store/event-log.js";
import { agents } from "../agents/schema.js";
import type { Data, Projection, WorkerOf } from "../domain.js";
import type { workflowCancelled, workflowControlExpired, workflowControlRequested, workflowFailed, workflowProgress, workflowRetried, workflowStarted } from "./events.js";
import { AFTER_FINISH, CONTROLS, confirmedAction, FINISHED, PAST } from "./lifecycle.js";
import { workflows, workflowStateCounts, type WorkflowState } from "./schema.js";

type Row = typeof workflows.$inferSelect;
type Update = Partial<typeof workflows.$inferInsert>;

const NO_PENDING: Update = { pendingAction: null, pendingEventId: null, pendingAt: null, pendingDeliverable: null, pendingReason: null };

/**
 * Applies workflow events to the `workflows` table (inside the append
 * transaction). Every rule the log must obey is checked here, against the
 * state the log has reached, so a broken rule rejects the event with 409
 * and nothing is appended.
 */
export async function projectWorkflow(db: Db, e: StoredEvent, data: Data): Promise<void> {
  const workflowId = e.subject!;
  const key = and(eq(workflows.tenant, e.tenant), eq(workflows.workflowId, workflowId));
  const [current] = await db.select().from(workflows).where(key).limit(1);

  if (e.type === "workflow.started") {
    const d = data as z.output<typeof workflowStarted>;
    if (current) throw new AppendRejected(409, `workflow ${workflowId} has already started (it is ${current.state})`);
    await db.insert(workflows).values({
      tenant: e.tenant,
      workflowId,
      name: d.name,
      stages: JSON.stringify(d.stages),
      stage: d.stage ?? null,
      task: d.task ?? null,
      progress: 0,
      state: "running",
      worker: d.worker,
      startedAt: e.ts,
      stateAt: e.ts,
      updatedAt: e.ts,
      eventId: e.id,
    });
    await countState(db, e.tenant, "running", 1);
    return;
  }

  if (!current) throw new AppendRejected(409, `no workflow ${workflowId}: its workflow.started must come first`);
  if (FINISHED.includes(current.state) && !AFTER_FINISH.includes(e.type)) {
    const retry = current.state === "completed" ? "" : " until it is retried";
    throw new AppendRejected(409, `workflow ${workflowId} has already ${current.state}; it cannot change any more${retry}`);
  }
  const update = await change(db, e, data, current);
  // A new state dates the workflow's place in the lists; progress and pending controls never move it.
  if (update.state !== undefined && update.state !== current.state) {
    update.stateAt = e.ts;
    await countState(db, e.tenant, current.state, -1);
    await countState(db, e.tenant, update.state, 1);
  }
  await db
    .update(workflows)
    .set({ ...update, updatedAt: e.ts, eventId: e.id })
    .where(key);
}

/** The columns an event changes on a workflow that exists and is not finished. */
async function change(db: Db, e: StoredEvent, data: Data, w: Row): Promise<Update> {
  const id = w.workflowId;
  switch (e.type) {
    case "workflow.progress": {
      const d = data as z.output<typeof workflowProgress>;
      if (w.state !== "running") throw new AppendRejected(409, `workflow ${id} is ${w.state}: progress is reported only while it runs`);
      // 409 rather than 400: the event is well-formed; it contradicts the stages the log already holds.
      if (d.stage !== undefined && !stagesOf(w).includes(d.stage)) {
        throw new AppendRejected(409, `"${d.stage}" is not a stage of workflow ${id}; its stages are ${stagesOf(w).join(", ")}`);
      }
      const stageChanged = d.stage !== undefined && d.stage !== w.stage;
      // A new stage without a task must not keep showing the previous stage's task.
      return { progress: d.progress, stage: d.stage ?? w.stage, task: d.task ?? (stageChanged ? null : w.task) };
    }

    case "workflow.control_requested": {
      const d = data as z.output<typeof workflowControlRequested>;
      if (d.worker !== w.worker) throw new AppendRejected(409, `workflow ${id} is run by worker ${w.worker}, not ${d.worker}: its controls go to ${w.worker}`);
      if (w.pendingAction !== null) {
        throw new AppendRejected(409, `a ${w.pendingAction} of workflow ${id} is already pending (event ${w.pendingEventId}); wait until the worker confirms it or it expires`);
      }
      const allowed = CONTROLS[d.action].from;
      if (!allowed.includes(w.state)) throw new AppendRejected(409, `workflow ${id} is ${w.state}: it can be ${PAST[d.action]} only when ${allowed.join(" or ")}`);
      return {
        pendingAction: d.action,
        pendingEventId: e.id,
        pendingAt: e.ts,
        // From the log (agent.connected / agent.disconnected), not from live connections: deterministic.
        pendingDeliverable: await workerConnected(db, e.tenant, d.worker),
        pendingReason: d.reason ?? null,
        expiredAction: null,
      };
    }

    case "workflow.paused":
    case "workflow.resumed":
    case "workflow.cancelled": {
      const action = confirmedAction(e.type)!;
      const { from, to } = CONTROLS[action];
      if (!from.includes(w.state)) throw new AppendRejected(409, `workflow ${id} is ${w.state}: it can be ${PAST[action]} only when ${from.join(" or ")}`);
      // A cancel the worker confirms without saying why keeps the operator's reason.
      const asked = w.pendingAction === "cancel" ? w.pendingReason : null;
      const reason = e.type === "workflow.cancelled" ? ((data as z.output<typeof workflowCancelled>).reason ?? asked) : null;
      return { state: to, error: reason, expiredAction: null, ...settle(w, to, action) };
    }

    case "workflow.retried": {
      const d = data as z.output<typeof workflowRetried>;
      const { from } = CONTROLS.retry;
      if (!from.includes(w.state)) throw new AppendRejected(409, `workflow ${id} is ${w.state}: it can be retried only when ${from.join(" or ")}`);
      if (d.stage !== undefined && !stagesOf(w).includes(d.stage)) {
        throw new AppendRejected(409, `"${d.stage}" is not a stage of workflow ${id}; its stages are ${stagesOf(w).join(", ")}`);
      }
      return {
        state: "running",
        attempt: w.attempt + 1,
        progress: 0,
        stage: d.stage ?? null,
        task: d.task ?? null,
        error: null,
        retryable: null,
        expiredAction: null,
        ...settle(w, "running", "retry"),
      };
    }

    case "workflow.completed":
      if (w.state !== "running") throw new AppendRejected(409, `workflow ${id} is ${w.state}: only a running workflow completes (resume it first)`);
      return { state: "completed", progress: 1, expiredAction: null, ...settle(w, "completed") };

    case "workflow.failed": {
      const d = data as z.output<typeof workflowFailed>;
      return { state: "failed", error: d.reason, retryable: d.retryable, expiredAction: null, ...settle(w, "failed") };
    }

    case "workflow.control_expired": {
      const d = data as z.output<typeof workflowControlExpired>;
      // The worker's confirmation may have committed first: then there is nothing left to expire.
      if (w.pendingEventId !== d.request_id) throw new AppendRejected(409, `control ${d.request_id} of workflow ${id} is no longer pending`);
      return { ...NO_PENDING, expiredAction: d.action };
    }

    default:
      throw new AppendRejected(400, `${e.type} is not a workflow event`);
  }
}

/**
 * What becomes of a pending control when the state changes: answered by
 * this confirmation, or no longer possible from the new state (a pending
 * pause when the worker cancels), it is cleared; otherwise (a pending
 * cancel when the worker pauses on its own) it still waits.
 */
function settle(w: Row, to: WorkflowState, confirmed?: string): Update {
  if (w.pendingAction === null) return {};
  if (w.pendingAction === confirmed || !CONTROLS[w.pendingAction].from.includes(to)) return NO_PENDING;
  return {};
}

/** Keeps the tabs' counts in step (workflow_state_counts): `by` more workflows of the tenant in `state`. */
async function countState(db: Db, tenant: string, state: WorkflowState, by: number): Promise<void> {
  await db
    .insert(workflowStateCounts)
    .values({ tenant, state, count: by })
    .onConflictDoUpdate({ target: [workflowStateCounts.tenant, workflowStateCounts.state], set: { count: sql`${workflowStateCounts.count} + ${by}` } });
}

const stagesOf = (w: Row): string[] => JSON.parse(w.stages) as string[];

async function workerConnected(db: Db, tenant: string, worker: string): Promise<boolean> {
  const [row] = await db.select({ connected: agents.connected }).from(agents).where(and(eq(agents.tenant, tenant), eq(agents.agentId, worker))).limit(1);
  return row?.connected ?? false;
}

/** The worker running a workflow (the one workflow.started named): every report and confirmation of it speaks for that worker. */
const runner: WorkerOf = async (db, e) => {
  const [row] = await db.select({ worker: workflows.worker }).from(workflows).where(and(eq(workflows.tenant, e.tenant), eq(workflows.workflowId, e.subject!))).limit(1);
  return row?.worker ?? null;
};

/** The workflows domain's projection, run by the log's writer. */
export const workflowsProjection: Projection = {
  topics: ["workflow"],
  project: projectWorkflow,
  workers: Object.fromEntries(
    ["workflow.started", "workflow.progress", "workflow.paused", "workflow.resumed", "workflow.cancelled", "workflow.completed", "workflow.failed", "workflow.retried"].map((t) => [t, runner]),
  ),
};
