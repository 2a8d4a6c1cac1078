import { z } from "zod";
import type { TypeSpec } from "../domain.js";
import { AGENT_STATUSES } from "./schema.js";

export const agentStatus = z.strictObject({
  status: z.enum(AGENT_STATUSES),
  name: z.string().min(1).max(200).optional(),
  capabilities: z.array(z.string().min(1).max(100)).max(50).optional(),
  metrics: z.record(z.string().max(100), z.number()).optional(),
  /** The execution it works on; only kept while busy. */
  execution_id: z.string().min(1).max(200).optional(),
  /** Why, when the status is error. */
  error: z.string().max(1000).optional(),
});

export const agentConnected = z.strictObject({});
export const agentDisconnected = z.strictObject({ reason: z.string().max(200).optional() });

export const agentTypes: Record<string, TypeSpec> = {
  "agent.status": { schema: agentStatus, subject: "required" },
  // Presence: appended by Switchboard from the agent's command stream, never by producers.
  "agent.connected": { schema: agentConnected, subject: "required", internal: true },
  "agent.disconnected": { schema: agentDisconnected, subject: "required", internal: true },
};
