import { and, desc, eq, ne } from "drizzle-orm";
import { cappedCount } from "../../console/overview-count.js";
import { tenantPath, type AttentionEntry, type OverviewSource } from "../../console/overview.js";
import { LIMIT, preparedFor, STATE, TENANT } from "../../store/prepared.js";
import { agents } from "./schema.js";

/** Offline is status "disconnected", in error "error": one query for either, its status a placeholder. */
const withStatus = and(eq(agents.tenant, TENANT), eq(agents.status, STATE));
const countWith = cappedCount(agents, withStatus);
const countOnline = cappedCount(agents, and(eq(agents.tenant, TENANT), ne(agents.status, "disconnected")));
const newestWith = preparedFor((db) =>
  db
    .select({ agentId: agents.agentId, name: agents.name, error: agents.error, updatedAt: agents.updatedAt, eventId: agents.eventId })
    .from(agents)
    .where(withStatus)
    .orderBy(desc(agents.updatedAt), desc(agents.eventId))
    .limit(LIMIT)
    .prepare(),
);

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
        { label: "online", count: countOnline(db, { tenant }), href: list },
        { label: "offline", count: countWith(db, { tenant, state: "disconnected" }), href: `${list}?status=disconnected`, tone: "warn" },
      ],
    };
  },
  attention(db, tenant, limit) {
    const base = tenantPath(tenant);
    const entries: AttentionEntry[] = [];
    for (const [kind, status] of [["offline", "disconnected"], ["error", "error"]] as const) {
      const rows = newestWith(db).all({ tenant, state: status, limit });
      for (const a of rows) {
        entries.push({ kind, what: "agent", label: a.name, detail: kind === "error" ? a.error : null, href: `${base}/agents/${encodeURIComponent(a.agentId)}`, at: a.updatedAt, eventId: a.eventId });
      }
    }
    return {
      entries,
      groups: [
        { kind: "offline", what: "agent", label: "offline agents", count: countWith(db, { tenant, state: "disconnected" }), href: `${base}/agents?status=disconnected` },
        { kind: "error", what: "agent", label: "agents in error", count: countWith(db, { tenant, state: "error" }), href: `${base}/agents?status=error` },
      ],
    };
  },
};
