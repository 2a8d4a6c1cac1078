import { domId } from "../../console/dom-id.js";
import { listPageRoutes, listPageUrl, renderSearch, renderTabs, searchParam } from "../../console/list-page.js";
import { listPanel } from "../../console/live-list.js";
import type { Panel, PanelContext } from "../../console/panels.js";
import { AGENT_PAGE, agentCounts, agentPage, type AgentListFilter } from "./list.js";
import { findAgent, type Agent } from "./queries.js";
import { AGENT_STATUSES, type AgentStatus } from "./schema.js";

/** The list's path under /t/:tenant, and its parts' ids. */
const PATH = "agents";
const LIST = "agents-list";
const ROWS = "agents-rows";
const TABS = "agents-summary";
const PAGER = "agents-pager";

/** The query parameter naming the agent a page starts after (`after` is a stream's position). */
const FROM = "from";

/** The list's filter from the page's query: `status`, `q` (a name, id or capability), `from`; anything else is ignored. */
export function agentListFilter(query: Record<string, string | undefined>): AgentListFilter {
  const status = (AGENT_STATUSES as readonly string[]).includes(query.status ?? "") ? (query.status as AgentStatus) : null;
  const from = query[FROM];
  return { status, q: searchParam(query.q), after: from && from.length <= 200 ? from : null };
}

const pageOf = (ctx: PanelContext) => agentPage(ctx.db, ctx.tenant!, agentListFilter(ctx.query));

/** One agent's row; it sorts by name, then id (a tab sorts below any character a name is likely to hold). */
function renderRow(ctx: PanelContext, agent: Agent): string {
  const order = `${agent.name}\t${agent.agentId}`;
  return ctx.views.render("partials/agent-row", { tenant: ctx.tenant, agent, id: domId("agent", agent.agentId), order });
}

/** The status tabs with their counts over every agent (#agents-summary). */
const renderTabsPart = (ctx: PanelContext) => renderTabs(ctx, PATH, TABS, "status", agentCounts(ctx.db, ctx.tenant!));

/** The pager: back to the first page, on to the agents after this page's last. */
function renderAgentPager(ctx: PanelContext, next: string | null): string {
  const { [FROM]: from, ...filters } = Object.fromEntries(Object.entries(ctx.query).filter((e): e is [string, string] => e[1] !== undefined));
  return ctx.views.render("partials/pager", {
    id: PAGER,
    newest: from ? listPageUrl(ctx.tenant!, PATH, filters) : null,
    older: next ? listPageUrl(ctx.tenant!, PATH, { ...filters, [FROM]: next }) : null,
    newestLabel: "← First",
    olderLabel: "Next →",
  });
}

/** The list (#agents-list): the status tabs, a page of rows by name, and the pager. */
function renderList(ctx: PanelContext): string {
  const page = pageOf(ctx);
  const filter = agentListFilter(ctx.query);
  return ctx.views.render("partials/agents-list", {
    id: LIST,
    rowsId: ROWS,
    max: AGENT_PAGE,
    tabs: renderTabsPart(ctx),
    rows: page.rows.map((a) => renderRow(ctx, a)),
    empty: filter.q || filter.status ? "No agents match this filter." : "No agents yet. They appear when they report a status or open their command stream.",
    pager: renderAgentPager(ctx, page.next),
  });
}

/**
 * The agents list: status tabs with live counts, a search, and pages of 50
 * rows by name, each its own live row with the agent's status. A status
 * change never moves a row; on a status's tab it leaves the list, which
 * refills from the next page.
 */
export const agentsPanel = listPanel<Agent>({
  id: LIST,
  topics: ["agent"],
  render: renderList,
  params(query) {
    const { status, q, after } = agentListFilter(query);
    return { ...(status && { status }), ...(q && { q }), ...(after && { [FROM]: after }) };
  },
  page: (ctx) =>
    ctx.views.render("partials/list-frame", {
      id: "agents",
      search: renderSearch(ctx, PATH, LIST, { label: "Search agents", placeholder: "Name, id or capability" }),
      list: renderList(ctx),
    }),
  lists: [{ id: ROWS, members: (ctx) => pageOf(ctx).rows, max: AGENT_PAGE, leaves: ["agent.status", "agent.connected", "agent.disconnected"] }],
  key: (a) => a.agentId,
  itemId: (key) => domId("agent", key),
  item: renderRow,
  parts: [
    { id: TABS, render: renderTabsPart },
    { id: PAGER, render: (ctx) => renderAgentPager(ctx, pageOf(ctx).next) },
  ],
});

/** The agents list as its own page, /t/:tenant/agents. */
export const agentsListPage = listPageRoutes({
  path: PATH,
  title: "Agents",
  lede: "Every agent and worker of the tenant by name, with its status live.",
  panel: agentsPanel,
});

/** One agent's state on its detail page (#agent-detail). */
export function agentDetailPanel(agentId: string): Panel {
  return {
    id: "agent-detail",
    topics: ["agent"],
    render: (ctx) => ctx.views.render("partials/agent-detail", { agentId, agent: ctx.tenant ? findAgent(ctx.db, ctx.tenant, agentId) : undefined }),
  };
}
