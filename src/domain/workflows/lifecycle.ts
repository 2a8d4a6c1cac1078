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
};

/** States a workflow never leaves. */
export const FINISHED: readonly WorkflowState[] = ["completed", "failed", "cancelled"];

/** The control a confirmation event answers, e.g. `workflow.paused` → pause. */
export function confirmedAction(type: string): ControlAction | undefined {
  return (Object.keys(CONTROLS) as ControlAction[]).find((a) => CONTROLS[a].confirmedBy === type);
}

/** Past participles for messages: "has already completed", "cannot be paused". */
export const PAST: Record<ControlAction, string> = { pause: "paused", resume: "resumed", cancel: "cancelled" };
