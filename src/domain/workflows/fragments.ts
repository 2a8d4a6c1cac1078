import { descending, descendingText } from "../../console/live-list.js";
import type { Panel, PanelContext } from "../../console/panels.js";
import { findAgent } from "../agents/queries.js";
import { PAST } from "./lifecycle.js";
import { MAX_REASON } from "./events.js";
import type { Workflow } from "./queries.js";
import type { ControlAction } from "./schema.js";

/** Where a card sorts in a list: newest state first, then by id descending, as the list's query orders them. */
const order = (w: Workflow) => `${descending(w.stateAt)}${descendingText(w.workflowId)}`;

/** The detail page's live card: the same card, in full. */
export function workflowCardPanel(workflowId: string, find: (ctx: PanelContext) => Workflow | undefined): Panel {
  return {
    id: cardId(workflowId),
    topics: ["workflow", "agent"],
    render: (ctx) => {
      const w = find(ctx);
      return w ? renderWorkflowCard(ctx, w, { full: true }) : "";
    },
  };
}

export type StepStatus = "done" | "current" | "upcoming" | "stopped";

/**
 * One workflow's card: the unit the panel lists, the detail page shows in
 * full, a button press returns, and the page streams replace. `message` is
 * a refusal to show on it (a control that was not possible).
 */
export function renderWorkflowCard(ctx: PanelContext, w: Workflow, options: { full?: boolean; message?: string } = {}): string {
  return ctx.views.render("partials/workflow-card", cardData(ctx, w, options));
}

/** What progress changes on a card (stages, bar, task): a progress report morphs this part alone. */
export function renderProgress(ctx: PanelContext, w: Workflow): { id: string; html: string } {
  const data = cardData(ctx, w);
  return { id: `${data.id}-progress`, html: ctx.views.render("partials/workflow-progress", data) };
}

function cardData(ctx: PanelContext, w: Workflow, options: { full?: boolean; message?: string } = {}) {
  const worker = w.worker !== null && ctx.tenant !== null ? findAgent(ctx.db, ctx.tenant, w.worker) : undefined;
  const workerOnline = worker?.connected ?? false;
  return {
    // What the card shows depends on the workflow and on its worker's presence: the later of their last events.
    version: Math.max(w.eventId, worker?.eventId ?? 0),
    w,
    id: cardId(w.workflowId),
    order: order(w),
    href: `/t/${encodeURIComponent(w.tenant)}/workflows/${encodeURIComponent(w.workflowId)}`,
    full: options.full ?? false,
    message: options.message ?? null,
    steps: steps(w),
    percent: Math.round(w.progress * 100),
    workerOnline,
    notice: notice(w, workerOnline),
    actions: ctx.canControl ? actionsFor(w) : [],
    maxReason: MAX_REASON,
    csrf: ctx.csrf,
  };
}

/**
 * The card's element id: `wf-<id>` when the id is safe in a CSS selector,
 * else `wf--<hex>` (a safe id never starts with "-", so the two never meet).
 */
export function cardId(workflowId: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(workflowId) ? `wf-${workflowId}` : `wf--${Buffer.from(workflowId).toString("hex")}`;
}

/** Each stage as a step: done before the current one, upcoming after; a failed or cancelled workflow stopped at its current one. */
export function steps(w: Pick<Workflow, "stages" | "stage" | "state">): { name: string; status: StepStatus }[] {
  const at = w.stage === null ? -1 : w.stages.indexOf(w.stage);
  return w.stages.map((name, i) => {
    if (w.state === "completed" || i < at) return { name, status: "done" };
    if (i === at) return { name, status: w.state === "failed" || w.state === "cancelled" ? "stopped" : "current" };
    return { name, status: "upcoming" };
  });
}

/** What each control's button says, and what it asks before it is sent (null: nothing). */
const BUTTONS: Record<ControlAction, string> = { pause: "Pause", resume: "Resume", cancel: "Cancel", retry: "Retry" };

/** The buttons a workflow offers in its state; pressed while a control is pending, they would only be refused. */
function actionsFor(w: Workflow): { action: ControlAction; label: string; confirm: string | null; disabled: boolean }[] {
  const actions: ControlAction[] =
    w.state === "running" ? ["pause", "cancel"] : w.state === "paused" ? ["resume", "cancel"] : w.state === "failed" || w.state === "cancelled" ? ["retry"] : [];
  return actions.map((action) => ({ action, label: BUTTONS[action], confirm: confirmOf(w, action), disabled: w.pendingAction !== null }));
}

function confirmOf(w: Workflow, action: ControlAction): string | null {
  if (action === "cancel") return "Cancel this workflow? It stops where it is; it can be retried from the start.";
  if (action === "retry" && w.state === "failed" && w.retryable === false) return "The worker said retrying this failure will not help. Retry anyway?";
  return null;
}

/** The line that says what the operator is waiting for, or what went wrong. */
function notice(w: Workflow, workerOnline: boolean): { kind: string; text: string; detail?: string } | null {
  if (w.pendingAction !== null) {
    const why = w.pendingReason ? ` · reason: ${w.pendingReason}` : "";
    return workerOnline
      ? { kind: "pending", text: `${w.pendingAction} requested…`, detail: `waiting for ${w.worker} to confirm${why}` }
      : { kind: "offline", text: `${w.pendingAction}: waiting for the worker — it is offline`, detail: `${w.worker} is not connected; the ${w.pendingAction} expires if it does not answer${why}` };
  }
  if (w.state === "failed") return { kind: "failed", text: w.error ?? "failed", detail: `retryable: ${w.retryable ? "yes" : "no"}` };
  if (w.expiredAction !== null) return { kind: "expired", text: `${w.expiredAction} expired: the worker did not answer`, detail: `the workflow was not ${PAST[w.expiredAction]}` };
  if (w.state === "cancelled" && w.error) return { kind: "cancelled", text: `cancelled: ${w.error}` };
  return null;
}
