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

/** The list partial (#agents-list): counts by status and the agents passing the filter. */
function renderList(ctx: PanelContext): string {
  const filter = agentFilter(ctx.query);
  const all = ctx.tenant ? listAgents(ctx.db, ctx.tenant) : [];
  const counts = Object.fromEntries(AGENT_STATUSES.map((s) => [s, all.filter((a) => a.status === s).length]));
  const agents = all.filter((a) => (!filter.status || a.status === filter.status) && agentMatches(a, filter.q));
  return ctx.views.render("partials/agents-list", { tenant: ctx.tenant, agents, counts, total: all.length, filter, statuses: AGENT_STATUSES });
}

/**
 * The agents panel: every agent of the tenant with its live status. The
 * filter form sits in the page's frame, outside #agents-list, so a live
 * update never replaces what an operator is typing.
 */
export const agentsPanel: Panel = {
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
};

/** One agent's state on its detail page (#agent-detail). */
export function agentDetailPanel(agentId: string): Panel {
  return {
    id: "agent-detail",
    topics: ["agent"],
    render: (ctx) => ctx.views.render("partials/agent-detail", { agentId, agent: ctx.tenant ? findAgent(ctx.db, ctx.tenant, agentId) : undefined }),
  };
}
