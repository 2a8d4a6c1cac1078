import { z } from "zod";
import type { TypeSpec } from "../domain.js";
import { CONTROL_ACTIONS } from "./schema.js";

const label = (max: number) => z.string().min(1).max(max);
const stageName = label(200);
const between0and1 = z.number().min(0, "must be between 0 and 1").max(1, "must be between 0 and 1");

export const workflowStarted = z
  .strictObject({
    name: label(200),
    /** The stages, in order; `stage` in later events must be one of them. */
    stages: z.array(stageName).min(1).max(100),
    /** The worker running it: where pause, resume and cancel are delivered. */
    worker: label(200),
    stage: stageName.optional(),
    task: label(1000).optional(),
  })
  // Checked here (400), not in the projection: the event contradicts itself, whatever the state.
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    d.stages.forEach((s, i) => {
      if (seen.has(s)) ctx.addIssue({ code: "custom", path: ["stages", i], message: `"${s}" is listed twice` });
      seen.add(s);
    });
    if (d.stage !== undefined && !seen.has(d.stage)) ctx.addIssue({ code: "custom", path: ["stage"], message: `"${d.stage}" is not one of stages` });
  });

export const workflowProgress = z.strictObject({
  progress: between0and1,
  stage: stageName.optional(),
  task: label(1000).optional(),
});

/** How long an operator's reason for a cancel may be: a line, shown on the card and in the history. */
export const MAX_REASON = 200;

/** An operator's reason: a short line of text. */
export const controlReason = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(MAX_REASON, `must be at most ${MAX_REASON} characters`)
  .regex(/^[^\u0000-\u001f\u007f]*$/, "must be one line without control characters");

/**
 * An operator's pause, resume, cancel or retry, delivered to the worker
 * running the workflow (`worker` must be that worker). Only the worker's
 * confirmation (`workflow.paused`, `.resumed`, `.cancelled`, `.retried`)
 * changes the state. A cancel may say why (`reason`).
 */
export const workflowControlRequested = z
  .strictObject({
    action: z.enum(CONTROL_ACTIONS),
    worker: label(200),
    reason: controlReason.optional(),
  })
  .refine((d) => d.reason === undefined || d.action === "cancel", { path: ["reason"], message: "only a cancel takes a reason" });

export const workflowPaused = z.strictObject({});
export const workflowResumed = z.strictObject({});
export const workflowCancelled = z.strictObject({ reason: label(1000).optional() });
export const workflowCompleted = z.strictObject({});
/** The worker runs a failed or cancelled workflow again (asked by a retry, or on its own): back to running, from the start. */
export const workflowRetried = z
  .strictObject({
    stage: stageName.optional(),
    task: label(1000).optional(),
  });
export const workflowFailed = z.strictObject({
  reason: label(1000),
  /** Whether retrying may succeed (a timeout) or not (bad input). */
  retryable: z.boolean(),
});

/** Appended by Switchboard when a control went unconfirmed for COMMAND_TIMEOUT_MS. */
export const workflowControlExpired = z.strictObject({
  action: z.enum(CONTROL_ACTIONS),
  /** The id of the `workflow.control_requested` event that expired. */
  request_id: z.number().int().min(1),
});

export const workflowTypes: Record<string, TypeSpec> = {
  "workflow.started": { schema: workflowStarted, subject: "required" },
  "workflow.progress": { schema: workflowProgress, subject: "required" },
  "workflow.control_requested": { schema: workflowControlRequested, subject: "required", command: true },
  "workflow.paused": { schema: workflowPaused, subject: "required" },
  "workflow.resumed": { schema: workflowResumed, subject: "required" },
  "workflow.cancelled": { schema: workflowCancelled, subject: "required" },
  "workflow.completed": { schema: workflowCompleted, subject: "required" },
  "workflow.failed": { schema: workflowFailed, subject: "required" },
  "workflow.retried": { schema: workflowRetried, subject: "required" },
  "workflow.control_expired": { schema: workflowControlExpired, subject: "required", internal: true },
};
