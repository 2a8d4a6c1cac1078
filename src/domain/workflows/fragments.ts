import type { Panel, PanelContext } from "../../console/panels.js";
import { findAgent } from "../agents/queries.js";
import { PAST } from "./lifecycle.js";
import { consoleWorkflows, type Workflow } from "./queries.js";
import type { ControlAction } from "./schema.js";

/** How many finished workflows the panel keeps under the running ones. */
export const RECENT_FINISHED = 4;

/**
 * The workflows panel: running and paused workflows, then the few most
 * recently finished. Agent events re-render it too: whether a pending
 * control can reach its worker depends on the worker's presence.
 */
export const workflowsPanel: Panel = {
  id: "workflows",
  topics: ["workflow", "agent"],
  render(ctx) {
    const { active, finished } = consoleWorkflows(ctx.db, ctx.tenant!, { finished: RECENT_FINISHED });
    const card = (w: Workflow) => renderWorkflowCard(ctx, w);
    return ctx.views.render("partials/workflows-panel", {
      active: active.map(card),
      finished: finished.map(card),
      running: active.filter((w) => w.state === "running").length,
      paused: active.filter((w) => w.state === "paused").length,
    });
  },
};

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
  const workerOnline = w.worker !== null && ctx.tenant !== null && (findAgent(ctx.db, ctx.tenant, w.worker)?.connected ?? false);
  return ctx.views.render("partials/workflow-card", {
    w,
    id: cardId(w.workflowId),
    href: `/t/${encodeURIComponent(w.tenant)}/workflows/${encodeURIComponent(w.workflowId)}`,
    full: options.full ?? false,
    message: options.message ?? null,
    steps: steps(w),
    percent: Math.round(w.progress * 100),
    workerOnline,
    notice: notice(w, workerOnline),
    actions: ctx.canControl ? actionsFor(w) : [],
    csrf: ctx.csrf,
  });
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

/** The buttons a workflow offers in its state; pressed while a control is pending, they would only be refused. */
function actionsFor(w: Workflow): { action: ControlAction; disabled: boolean }[] {
  const actions: ControlAction[] = w.state === "running" ? ["pause", "cancel"] : w.state === "paused" ? ["resume", "cancel"] : [];
  return actions.map((action) => ({ action, disabled: w.pendingAction !== null }));
}

/** The line that says what the operator is waiting for, or what went wrong. */
function notice(w: Workflow, workerOnline: boolean): { kind: string; text: string; detail?: string } | null {
  if (w.pendingAction !== null) {
    return workerOnline
      ? { kind: "pending", text: `${w.pendingAction} requested…`, detail: `waiting for ${w.worker} to confirm` }
      : { kind: "offline", text: `${w.pendingAction}: waiting for the worker — it is offline`, detail: `${w.worker} is not connected; the ${w.pendingAction} expires if it does not answer` };
  }
  if (w.state === "failed") return { kind: "failed", text: w.error ?? "failed", detail: `retryable: ${w.retryable ? "yes" : "no"}` };
  if (w.expiredAction !== null) return { kind: "expired", text: `${w.expiredAction} expired: the worker did not answer`, detail: `the workflow was not ${PAST[w.expiredAction]}` };
  if (w.state === "cancelled" && w.error) return { kind: "cancelled", text: `cancelled: ${w.error}` };
  return null;
}
