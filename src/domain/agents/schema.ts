import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const AGENT_STATUSES = ["available", "busy", "error", "disconnected"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** Current state of every agent (worker); kept regardless of event retention. */
export const agents = sqliteTable(
  "agents",
  {
    tenant: text("tenant").notNull(),
    agentId: text("agent_id").notNull(),
    name: text("name").notNull(),
    /** JSON array of strings. */
    capabilities: text("capabilities").notNull().default("[]"),
    /** JSON object of numbers the agent reports (tasks done, load…), shown as they are. */
    metrics: text("metrics").notNull().default("{}"),
    status: text("status", { enum: AGENT_STATUSES }).notNull(),
    /** What it is working on while busy. */
    executionId: text("execution_id"),
    /** Whether its command stream is open (presence), as last recorded in the log. */
    connected: integer("connected", { mode: "boolean" }).notNull().default(false),
    error: text("error"),
    updatedAt: integer("updated_at").notNull(),
    eventId: integer("event_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.agentId] }),
    // The console's list: every agent, and one status's, by name then id, by keyset (src/domain/agents/list.ts).
    index("agents_tenant_name_idx").on(t.tenant, t.name, t.agentId),
    index("agents_tenant_status_name_idx").on(t.tenant, t.status, t.name, t.agentId),
  ],
);
