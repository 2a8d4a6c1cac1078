import { descending, listPanel } from "../../console/live-list.js";
import type { Panel, PanelContext } from "../../console/panels.js";
import { findAgent } from "../agents/queries.js";
import { WORKFLOW_TICKS } from "./feed.js";
import { PAST } from "./lifecycle.js";
import { consoleWorkflows, DEFAULT_LIST, type Workflow } from "./queries.js";
import type { ControlAction } from "./schema.js";

/** How many finished workflows the panel keeps under the running ones. */
export const RECENT_FINISHED = 4;

/** Where a card sorts: running and paused ones by start, finished ones by their last change, newest first. */
const order = (w: Workflow) => `${descending(isActive(w) ? w.startedAt : w.updatedAt)}${w.workflowId}`;
const isActive = (w: Workflow) => w.state === "running" || w.state === "paused";

/** What takes a workflow out of the running and paused ones (finished ones never move again). */
const FINISHING = ["workflow.completed", "workflow.failed", "workflow.cancelled"];

const shown = (ctx: PanelContext) => consoleWorkflows(ctx.db, ctx.tenant!, { finished: RECENT_FINISHED });

function renderCount(ctx: PanelContext, active = shown(ctx).active): string {
  const running = active.filter((w) => w.state === "running").length;
  return ctx.views.render("partials/workflows-count", { running, paused: active.length - running });
}

/**
 * The workflows panel: running and paused workflows, then the few most
 * recently finished, each card its own live item. Agent presence changes
 * cards too: whether a pending control can reach its worker depends on the
 * worker's connection, so an agent connecting or dropping updates the cards
 * it works on.
 */
export const workflowsPanel = listPanel<Workflow>({
  id: "workflows",
  topics: ["workflow", "agent"],
  render(ctx) {
    const { active, finished } = shown(ctx);
    const card = (w: Workflow) => renderWorkflowCard(ctx, w);
    return ctx.views.render("partials/workflows-panel", {
      count: renderCount(ctx, active),
      active: active.map(card),
      finished: finished.map(card),
      activeMax: DEFAULT_LIST,
      max: RECENT_FINISHED,
    });
  },
  lists: [
    { id: "wf-active", members: (ctx) => shown(ctx).active, max: DEFAULT_LIST, leaves: FINISHING },
    { id: "wf-finished", members: (ctx) => shown(ctx).finished, max: RECENT_FINISHED },
  ],
  key: (w) => w.workflowId,
  itemId: cardId,
  item: (ctx, w) => renderWorkflowCard(ctx, w),
  parts: [{ id: "workflows-count", render: (ctx) => renderCount(ctx) }],
  ticks: WORKFLOW_TICKS,
  tickPart: renderProgress,
  changed(ctx, events) {
    const keys = new Set<string>();
    const presence = new Set<string>();
    for (const e of events) {
      if (e.subject === null) continue;
      if (e.type.startsWith("workflow.")) keys.add(e.subject);
      else if (e.type === "agent.connected" || e.type === "agent.disconnected") presence.add(e.subject);
    }
    if (presence.size > 0) {
      const { active, finished } = shown(ctx);
      for (const w of [...active, ...finished]) if (w.worker !== null && presence.has(w.worker)) keys.add(w.workflowId);
    }
    return keys;
  },
});

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
function renderProgress(ctx: PanelContext, w: Workflow): { id: string; html: string } {
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
