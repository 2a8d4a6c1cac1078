import { findAgent } from "../agents/queries.js";
import type { Db } from "../../store/db.js";
import type { MessageRow } from "./queries.js";

/** Whether the session's agent holds its command stream now, has never been seen, or is away. */
export type Presence = "online" | "offline" | "unknown";

/** The line under a user's message that says what it waits for: the story workflow controls tell. */
export interface MessageNotice {
  kind: "pending" | "offline" | "expired";
  text: string;
  detail?: string;
}

/** From the agents' projection (agent.connected / .disconnected), as workflow cards judge their worker. */
export function agentPresence(db: Db, tenant: string, agent: string): Presence {
  const row = findAgent(db, tenant, agent);
  return row === undefined ? "unknown" : row.connected ? "online" : "offline";
}

/**
 * Pending with its agent connected: waiting for the answer. Pending with the
 * agent away, or never seen: said plainly, with what happens next. Expired:
 * nobody answered in time. Answered messages need no notice.
 */
export function messageNotice(m: Pick<MessageRow, "role" | "status">, agent: string, presence: () => Presence): MessageNotice | null {
  if (m.role !== "user") return null;
  if (m.status === "expired") {
    return { kind: "expired", text: `Not answered: ${agent} did not answer in time`, detail: "the message stays on its command stream: an answer that comes later still counts" };
  }
  if (m.status !== "pending") return null;
  switch (presence()) {
    case "online":
      return { kind: "pending", text: `Sent — waiting for ${agent} to answer…` };
    case "offline":
      return { kind: "offline", text: `Waiting for ${agent} — it is offline`, detail: `${agent} is not connected; the message expires if it does not answer` };
    case "unknown":
      return { kind: "offline", text: `Waiting for ${agent} — no agent of that name has connected`, detail: `check the agent's id; the message expires if nobody answers` };
  }
}
