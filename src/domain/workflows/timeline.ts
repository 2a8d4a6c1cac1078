import { descending } from "../../console/live-list.js";
import type { HistoryPanel, PanelContext } from "../../console/panels.js";
import { upsertPartial } from "../../console/partials.js";
import type { StoredEvent } from "../../event.js";
import { helpers } from "../../console/helpers.js";
import type { EventLog } from "../../store/event-log.js";
import { workflowHistory } from "./history.js";
import { findWorkflow } from "./queries.js";

/** The history's element ids on the workflow page. */
const TIMELINE = "wf-timeline";
const ITEMS = "wf-timeline-items";

/** The page of history a workflow page shows: `?before=<event id>`, or the newest (null). */
export function historyCursor(query: Record<string, string | undefined>): number | null {
  const text = query.before;
  return text !== undefined && /^[1-9]\d{0,14}$/.test(text) ? Number(text) : null;
}

/** The workflow page's URL, on the history page below `before` (null: the newest). */
export const workflowHref = (tenant: string, workflowId: string, before: number | null = null): string =>
  `/t/${encodeURIComponent(tenant)}/workflows/${encodeURIComponent(workflowId)}${before === null ? "" : `?before=${before}`}`;

/** One event of the history: what it says, when, and its payload as the log holds it, behind a disclosure. */
function renderEvent(ctx: PanelContext, e: StoredEvent, label: string | null): string {
  const data = JSON.parse(e.data) as Record<string, unknown>;
  return ctx.views.render("partials/workflow-event", {
    e,
    id: `wfe-${e.id}`,
    // Newest first: a live event goes to the top of the page it belongs on.
    order: descending(e.id),
    icon: helpers.eventIcon(e.type, data),
    summary: helpers.summary(e.type, e.subject, data, label),
    payload: Object.keys(data).length === 0 ? null : JSON.stringify(data, null, 2),
  });
}

/** The history (#wf-timeline): a page of the workflow's events through `head`, newest first, and the pager. */
async function renderTimeline(ctx: PanelContext, log: EventLog, head: number, workflowId: string): Promise<string> {
  const before = historyCursor(ctx.query);
  const page = await workflowHistory(log, ctx.tenant!, workflowId, before, head);
  const label = findWorkflow(ctx.db, ctx.tenant!, workflowId)?.name ?? null;
  return ctx.views.render("partials/workflow-timeline", {
    id: TIMELINE,
    itemsId: ITEMS,
    items: page.events.map((e) => renderEvent(ctx, e, label)),
    pager: ctx.views.render("partials/pager", {
      id: `${TIMELINE}-pager`,
      newest: before === null ? null : workflowHref(ctx.tenant!, workflowId),
      older: page.older === null ? null : workflowHref(ctx.tenant!, workflowId, page.older),
    }),
  });
}

/**
 * A workflow's history on its page, live: on the newest page each new
 * event is put at the top (by its id, so a repeated frame changes
 * nothing); an older page never changes. Its events are read through the
 * subject index by keyset on event id (`?before=`), however long the history.
 */
export function timelinePanel(workflowId: string): HistoryPanel {
  return {
    id: TIMELINE,
    topics: ["workflow"],
    render: (ctx, log, head) => renderTimeline(ctx, log, head, workflowId),
    update(ctx, events) {
      if (historyCursor(ctx.query) !== null) return [];
      const own = events.filter((e) => e.subject === workflowId && e.type.startsWith("workflow."));
      if (own.length === 0) return [];
      const label = findWorkflow(ctx.db, ctx.tenant!, workflowId)?.name ?? null;
      return [upsertPartial(ITEMS, own.map((e) => renderEvent(ctx, e, label)))];
    },
  };
}
