import { and, eq } from "drizzle-orm";
import type { z } from "zod";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import type { Data, Projection } from "../domain.js";
import type { agentStatus } from "./events.js";
import { agents } from "./schema.js";

/** Applies agent events to the `agents` table (inside the append transaction). */
export async function projectAgent(db: Db, e: StoredEvent, data: Data): Promise<void> {
  const agentId = e.subject!;
  const key = and(eq(agents.tenant, e.tenant), eq(agents.agentId, agentId));
  const [current] = await db.select().from(agents).where(key).limit(1);
  const stamp = { updatedAt: e.ts, eventId: e.id };
  const base: typeof agents.$inferInsert = { ...(current ?? { tenant: e.tenant, agentId, name: agentId, status: "available", connected: false }), ...stamp };
  let next: typeof agents.$inferInsert;
  switch (e.type) {
    case "agent.status": {
      const d = data as z.output<typeof agentStatus>;
      next = {
        ...base,
        status: d.status,
        name: d.name ?? base.name,
        capabilities: d.capabilities ? JSON.stringify(d.capabilities) : base.capabilities,
        metrics: d.metrics ? JSON.stringify(d.metrics) : base.metrics,
        executionId: d.status === "busy" ? (d.execution_id ?? null) : null,
        error: d.status === "error" ? (d.error ?? null) : null,
      };
      break;
    }
    case "agent.connected":
      // Back from disconnected means available; any other reported status stands.
      next = { ...base, connected: true, status: base.status === "disconnected" ? "available" : base.status };
      break;
    case "agent.disconnected":
      next = { ...base, connected: false, status: "disconnected", executionId: null };
      break;
    default:
      return;
  }
  if (current) await db.update(agents).set(next).where(key);
  else await db.insert(agents).values(next);
}

/** The agents domain's projection, run by the log's writer. An agent is a worker: its status speaks for itself. */
export const agentsProjection: Projection = { topics: ["agent"], project: projectAgent, workers: { "agent.status": async (_db, e) => e.subject } };
