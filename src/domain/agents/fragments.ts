import { domId } from "../../console/dom-id.js";
import { listPanel } from "../../console/live-list.js";
import type { Panel, PanelContext } from "../../console/panels.js";
import { findAgent, listAgents, type Agent } from "./queries.js";
import { AGENT_STATUSES, type AgentStatus } from "./schema.js";

/** The agents panel's filter, from the page URL: `agent_status` and `agent_q` (a name or capability). */
export interface AgentFilter {
  status: AgentStatus | null;
  q: string | null;
}

/** The query parameters the agents filter owns; every other one belongs to other panels. */
export const AGENT_FILTER_PARAMS = ["agent_status", "agent_q"] as const;

export function agentFilter(query: Record<string, string | undefined>): AgentFilter {
  const status = (AGENT_STATUSES as readonly string[]).includes(query.agent_status ?? "") ? (query.agent_status as AgentStatus) : null;
  const q = query.agent_q?.trim().slice(0, 100) || null;
  return { status, q };
}

/** Whether an agent's name, id or one of its capabilities contains the search text (case-insensitive). */
export function agentMatches(agent: Agent, q: string | null): boolean {
  if (!q) return true;
  const needle = q.toLowerCase();
  return [agent.name, agent.agentId, ...agent.capabilities].some((s) => s.toLowerCase().includes(needle));
}

const allAgents = (ctx: PanelContext): Agent[] => (ctx.tenant ? listAgents(ctx.db, ctx.tenant) : []);

/** The agents passing the page's filter, by name. */
function shown(ctx: PanelContext, all = allAgents(ctx)): Agent[] {
  const filter = agentFilter(ctx.query);
  return all.filter((a) => (!filter.status || a.status === filter.status) && agentMatches(a, filter.q));
}

/** One agent's row; it sorts by name, then id (a tab sorts below any character a name is likely to hold). */
function renderRow(ctx: PanelContext, agent: Agent): string {
  const order = `${agent.name}\t${agent.agentId}`;
  return ctx.views.render("partials/agent-row", { tenant: ctx.tenant, agent, id: domId("agent", agent.agentId), order });
}

/** Counts by status over every agent, and what the list says when nobody passes the filter (#agents-summary). */
function renderSummary(ctx: PanelContext, all = allAgents(ctx), matching = shown(ctx, all).length): string {
  const counts = Object.fromEntries(AGENT_STATUSES.map((s) => [s, all.filter((a) => a.status === s).length]));
  return ctx.views.render("partials/agents-summary", { counts, total: all.length, matching, statuses: AGENT_STATUSES });
}

/** The list partial (#agents-list): the summary and the agents passing the filter. */
function renderList(ctx: PanelContext): string {
  const all = allAgents(ctx);
  const rows = shown(ctx, all);
  const summary = renderSummary(ctx, all, rows.length);
  return ctx.views.render("partials/agents-list", { summary, rows: rows.map((a) => renderRow(ctx, a)) });
}

/**
 * The agents panel: every agent of the tenant with its live status, each
 * its own live row. The filter form sits in the page's frame, outside
 * #agents-list, so a live update never replaces what an operator is typing.
 */
export const agentsPanel = listPanel<Agent>({
  id: "agents-list",
  topics: ["agent"],
  render: renderList,
  params(query) {
    const { status, q } = agentFilter(query);
    return { ...(status && { agent_status: status }), ...(q && { agent_q: q }) };
  },
  page(ctx) {
    const filter = agentFilter(ctx.query);
    // The form keeps the rest of the page's query (the feed's filters…) as it is.
    const keep = Object.entries(ctx.query).filter(([k, v]) => v && k !== "after" && !(AGENT_FILTER_PARAMS as readonly string[]).includes(k));
    return ctx.views.render("partials/agents-panel", { tenant: ctx.tenant, filter, keep, statuses: AGENT_STATUSES, list: renderList(ctx) });
  },
  lists: [{ id: "agents-rows", members: (ctx) => shown(ctx) }],
  key: (a) => a.agentId,
  itemId: (key) => domId("agent", key),
  item: renderRow,
  parts: [{ id: "agents-summary", render: (ctx) => renderSummary(ctx) }],
});

/** One agent's state on its detail page (#agent-detail). */
export function agentDetailPanel(agentId: string): Panel {
  return {
    id: "agent-detail",
    topics: ["agent"],
    render: (ctx) => ctx.views.render("partials/agent-detail", { agentId, agent: ctx.tenant ? findAgent(ctx.db, ctx.tenant, agentId) : undefined }),
  };
}
