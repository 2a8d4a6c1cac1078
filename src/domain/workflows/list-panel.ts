import { CURSOR_PARAM, cursorParam, listPageRoutes, parseCursor, renderPager, renderSearch, renderTabs, searchParam } from "../../console/list-page.js";
import { listPanel } from "../../console/live-list.js";
import type { PanelContext } from "../../console/panels.js";
import { WORKFLOW_TICKS } from "./feed.js";
import { cardId, renderProgress, renderWorkflowCard } from "./fragments.js";
import { WORKFLOW_PAGE, workflowCounts, workflowPage, type WorkflowListFilter } from "./list.js";
import type { Workflow } from "./queries.js";
import { WORKFLOW_STATES, type WorkflowState } from "./schema.js";

/** The list's path under /t/:tenant, and its parts' ids. */
const PATH = "workflows";
const LIST = "workflows-list";
const ROWS = "wf-rows";
const TABS = "workflow-tabs";
const PAGER = "workflows-pager";

/** The list's filter from the page's query: `state`, `q`, `before`; anything else is ignored. */
export function workflowListFilter(query: Record<string, string | undefined>): WorkflowListFilter {
  const state = (WORKFLOW_STATES as readonly string[]).includes(query.state ?? "") ? (query.state as WorkflowState) : null;
  return { state, q: searchParam(query.q), before: parseCursor(query[CURSOR_PARAM]) };
}

const pageOf = (ctx: PanelContext) => workflowPage(ctx.db, ctx.tenant!, workflowListFilter(ctx.query));

const renderTabsPart = (ctx: PanelContext) => renderTabs(ctx, PATH, TABS, "state", workflowCounts(ctx.db, ctx.tenant!));

/** The list (#workflows-list): the tabs, a page of cards, and the pager. */
function renderList(ctx: PanelContext): string {
  const page = pageOf(ctx);
  const filter = workflowListFilter(ctx.query);
  return ctx.views.render("partials/workflows-list", {
    id: LIST,
    rowsId: ROWS,
    max: WORKFLOW_PAGE,
    tabs: renderTabsPart(ctx),
    cards: page.rows.map((w) => renderWorkflowCard(ctx, w)),
    empty: filter.q || filter.state ? "No workflows match." : "No workflows yet. They appear when a worker starts one.",
    pager: renderPager(ctx, PATH, page.older, PAGER),
  });
}

/** Every event that moves a workflow to another state: on a tab, or a page after a cursor, it leaves the list. */
const STATE_CHANGES = ["workflow.paused", "workflow.resumed", "workflow.cancelled", "workflow.completed", "workflow.failed", "workflow.retried"];

/**
 * The workflows list: state tabs with live counts, a search, and pages of
 * 50 cards, newest state first, each card its own live item (a progress
 * tick morphs its progress part alone). Agent presence changes cards too:
 * whether a pending control can reach its worker depends on the worker's
 * connection.
 */
export const workflowsListPanel = listPanel<Workflow>({
  id: LIST,
  topics: ["workflow", "agent"],
  params(query) {
    const { state, q } = workflowListFilter(query);
    return { ...(state && { state }), ...(q && { q }), ...cursorParam(query) };
  },
  page(ctx) {
    const search = renderSearch(ctx, PATH, LIST, { label: "Search workflows", placeholder: "Workflow id or name" });
    return ctx.views.render("partials/list-frame", { id: "workflows", search, list: renderList(ctx) });
  },
  render: renderList,
  lists: [{ id: ROWS, members: (ctx) => pageOf(ctx).rows, max: WORKFLOW_PAGE, leaves: STATE_CHANGES }],
  key: (w) => w.workflowId,
  itemId: cardId,
  item: (ctx, w) => renderWorkflowCard(ctx, w),
  parts: [
    { id: TABS, render: renderTabsPart },
    // Where the older page starts follows the cards the page now holds.
    { id: PAGER, render: (ctx) => renderPager(ctx, PATH, pageOf(ctx).older, PAGER) },
  ],
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
    if (presence.size > 0) for (const w of pageOf(ctx).rows) if (w.worker !== null && presence.has(w.worker)) keys.add(w.workflowId);
    return keys;
  },
});

/** The workflows list as its own page, /t/:tenant/workflows. */
export const workflowsListPage = listPageRoutes({
  path: PATH,
  title: "Workflows",
  lede: "Every workflow, newest state first. Running ones report progress live; failed and cancelled ones can be retried.",
  panel: workflowsListPanel,
});
