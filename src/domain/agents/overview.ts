import { and, desc, eq, ne } from "drizzle-orm";
import { countAtMost } from "../../console/overview-count.js";
import { tenantPath, type AttentionEntry, type OverviewSource } from "../../console/overview.js";
import { agents } from "./schema.js";

const offline = (tenant: string) => and(eq(agents.tenant, tenant), eq(agents.status, "disconnected"));
const online = (tenant: string) => and(eq(agents.tenant, tenant), ne(agents.status, "disconnected"));
const failing = (tenant: string) => and(eq(agents.tenant, tenant), eq(agents.status, "error"));

/**
 * Agents on the overview: online (any status but disconnected) and offline
 * counts; offline agents and agents reporting an error need attention. A
 * tenant's agents are a team (the agents panel lists them all), so these
 * read the tenant's rows by primary key, bounded all the same.
 */
export const agentsOverview: OverviewSource = {
  topics: ["agent"],
  tile(db, tenant) {
    const list = `${tenantPath(tenant)}/agents`;
    return {
      id: "agents",
      title: "Agents",
      href: list,
      counts: [
        { label: "online", count: countAtMost(db, agents, online(tenant)), href: list },
        { label: "offline", count: countAtMost(db, agents, offline(tenant)), href: `${list}?status=disconnected`, tone: "warn" },
      ],
    };
  },
  attention(db, tenant, limit) {
    const base = tenantPath(tenant);
    const entries: AttentionEntry[] = [];
    for (const [kind, where] of [["offline", offline(tenant)], ["error", failing(tenant)]] as const) {
      const rows = db
        .select({ agentId: agents.agentId, name: agents.name, error: agents.error, updatedAt: agents.updatedAt, eventId: agents.eventId })
        .from(agents)
        .where(where)
        .orderBy(desc(agents.updatedAt), desc(agents.eventId))
        .limit(limit)
        .all();
      for (const a of rows) {
        entries.push({ kind, what: "agent", label: a.name, detail: kind === "error" ? a.error : null, href: `${base}/agents/${encodeURIComponent(a.agentId)}`, at: a.updatedAt, eventId: a.eventId });
      }
    }
    return {
      entries,
      groups: [
        { kind: "offline", what: "agent", label: "offline agents", count: countAtMost(db, agents, offline(tenant)), href: `${base}/agents?status=disconnected` },
        { kind: "error", what: "agent", label: "agents in error", count: countAtMost(db, agents, failing(tenant)), href: `${base}/agents?status=error` },
      ],
    };
  },
};
