import type { ControlAction, WorkflowState } from "./schema.js";

/**
 * The workflow state machine. A control may be requested only from its
 * `from` states; the worker's confirmation (`confirmedBy`) moves the
 * workflow to `to`. A worker may also confirm without a request (it paused
 * on its own), as long as the transition is valid.
 */
export const CONTROLS: Record<ControlAction, { from: readonly WorkflowState[]; to: WorkflowState; confirmedBy: string }> = {
  pause: { from: ["running"], to: "paused", confirmedBy: "workflow.paused" },
  resume: { from: ["paused"], to: "running", confirmedBy: "workflow.resumed" },
  cancel: { from: ["running", "paused"], to: "cancelled", confirmedBy: "workflow.cancelled" },
  retry: { from: ["failed", "cancelled"], to: "running", confirmedBy: "workflow.retried" },
};

/** States a workflow leaves only by a retry (completed: never). */
export const FINISHED: readonly WorkflowState[] = ["completed", "failed", "cancelled"];

/** The events a finished workflow still takes: a retry's request, its expiry, and the worker's retry itself. */
export const AFTER_FINISH: readonly string[] = ["workflow.control_requested", "workflow.control_expired", "workflow.retried"];

/** The control a confirmation event answers, e.g. `workflow.paused` → pause. */
export function confirmedAction(type: string): ControlAction | undefined {
  return (Object.keys(CONTROLS) as ControlAction[]).find((a) => CONTROLS[a].confirmedBy === type);
}

/** Past participles for messages: "has already completed", "cannot be paused". */
export const PAST: Record<ControlAction, string> = { pause: "paused", resume: "resumed", cancel: "cancelled", retry: "retried" };
