import { and, asc, count, eq, sql } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { containing, windowEnd } from "../../store/search.js";
import { findAgent, toAgent, type Agent } from "./queries.js";
import { AGENT_STATUSES, agents, type AgentStatus } from "./schema.js";

/** What the agents list shows: one status (null: all), a search, and the agent the page starts after. */
export interface AgentListFilter {
  status: AgentStatus | null;
  /** Text the agent's name, id or one of its capabilities contains. */
  q: string | null;
  /** The id of the previous page's last agent. */
  after: string | null;
}

/** How many agents a page of the list holds. */
export const AGENT_PAGE = 50;

/** One page of agents and the id the next one starts after (null: this is the last). */
export interface AgentPage {
  rows: Agent[];
  next: string | null;
}

/**
 * One page of the list by name, then id, as a roster reads (a status
 * change never moves a row): through `agents_tenant_status_name_idx` for
 * a status, `agents_tenant_name_idx` for all, one seek past the previous
 * page's last agent (a row value SQLite bounds the index with).
 */
export function agentPage(db: Db, tenant: string, filter: AgentListFilter, size = AGENT_PAGE): AgentPage {
  const last = filter.after === null ? undefined : findAgent(db, tenant, filter.after);
  const range = and(
    eq(agents.tenant, tenant),
    filter.status ? eq(agents.status, filter.status) : undefined,
    last ? sql`(${agents.name}, ${agents.agentId}) > (${last.name}, ${last.agentId})` : undefined,
  );
  const order = [asc(agents.name), asc(agents.agentId)];
  // A search reads one window of the range (from the index alone, to find its end), then its matches within it.
  const end = windowEnd(filter.q, db.select({ name: agents.name, agentId: agents.agentId }).from(agents).where(range).orderBy(...order));
  const rows = db
    .select()
    .from(agents)
    .where(and(range, containing([agents.name, agents.agentId, agents.capabilities], filter.q), end && sql`(${agents.name}, ${agents.agentId}) <= (${end.name}, ${end.agentId})`))
    .orderBy(...order)
    .limit(size + 1)
    .all()
    .map(toAgent);
  // Less than a page of matches in a full window: the next page searches on after it.
  if (rows.length <= size) return { rows, next: end?.agentId ?? null };
  const shown = rows.slice(0, size);
  return { rows: shown, next: shown[shown.length - 1].agentId };
}

/** How many agents a tenant has in each status, from the status index. */
export function agentCounts(db: Db, tenant: string): Record<AgentStatus, number> {
  const counts = Object.fromEntries(AGENT_STATUSES.map((s) => [s, 0])) as Record<AgentStatus, number>;
  const rows = db.select({ status: agents.status, n: count() }).from(agents).where(eq(agents.tenant, tenant)).groupBy(agents.status).all();
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}
