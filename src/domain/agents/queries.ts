import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { ID, preparedFor, TENANT } from "../../store/prepared.js";
import { agents, type AgentStatus } from "./schema.js";

export type AgentRow = typeof agents.$inferSelect;

export interface Agent extends Omit<AgentRow, "capabilities" | "metrics"> {
  capabilities: string[];
  metrics: Record<string, number>;
}

export const toAgent = (r: AgentRow): Agent => ({ ...r, capabilities: JSON.parse(r.capabilities), metrics: JSON.parse(r.metrics) });

/** A tenant's agents by name (then id), optionally of one status. */
export function listAgents(db: Db, tenant: string, status?: AgentStatus): Agent[] {
  const where = and(eq(agents.tenant, tenant), status ? eq(agents.status, status) : undefined);
  return db.select().from(agents).where(where).orderBy(asc(agents.name), asc(agents.agentId)).all().map(toAgent);
}

/** By primary key, prepared once per database: the feed names every item's subject with it. */
const agentById = preparedFor((db) =>
  db
    .select()
    .from(agents)
    .where(and(eq(agents.tenant, TENANT), eq(agents.agentId, ID)))
    .prepare(),
);

export function findAgent(db: Db, tenant: string, agentId: string): Agent | undefined {
  const row = agentById(db).get({ tenant, id: agentId });
  return row && toAgent(row);
}

/** Agents the log says are connected: after a restart their streams must come back within the grace period. */
export function connectedAgents(db: Db): { tenant: string; agentId: string }[] {
  return db.select({ tenant: agents.tenant, agentId: agents.agentId }).from(agents).where(eq(agents.connected, true)).all();
}
