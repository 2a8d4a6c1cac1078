import { and, desc, eq, sql } from "drizzle-orm";
import { COUNT_CAP, countAtMost } from "../../console/overview-count.js";
import { tenantPath, type AttentionEntry, type OverviewSource } from "../../console/overview.js";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { agents } from "../agents/schema.js";
import { sessionLabel } from "./feed.js";
import { chatMessages, chatSessions } from "./schema.js";

/** A session with messages in trouble: the newest such message's time, and whom the session is with. */
interface Troubled {
  sessionId: string;
  agent: string;
  title: string | null;
  at: number;
  eventId: number;
}

/**
 * Sessions with a user message in `status`, newest message first: at most
 * COUNT_CAP + 1 messages are read (chat_messages_tenant_status_updated_idx),
 * so a count past the cap shows as "999+". `undelivered`: only those
 * whose agent is not connected (or was never seen), as the session page's
 * notice says; a message waiting for a connected agent is being answered.
 */
function troubled(db: Db, tenant: string, status: "pending" | "expired", options: { undelivered?: boolean } = {}): Troubled[] {
  const messages = db
    .select({ sessionId: chatMessages.sessionId, at: chatMessages.updatedAt, eventId: chatMessages.eventId })
    .from(chatMessages)
    .where(and(eq(chatMessages.tenant, tenant), eq(chatMessages.status, status)))
    .orderBy(desc(chatMessages.updatedAt))
    .limit(COUNT_CAP + 1)
    .as("m");
  const at = sql<number>`max(${messages.at})`;
  const eventId = sql<number>`max(${messages.eventId})`;
  return db
    .select({ sessionId: messages.sessionId, agent: chatSessions.agent, title: chatSessions.title, at, eventId })
    .from(messages)
    .innerJoin(chatSessions, and(eq(chatSessions.tenant, tenant), eq(chatSessions.sessionId, messages.sessionId)))
    .leftJoin(agents, and(eq(agents.tenant, tenant), eq(agents.agentId, chatSessions.agent)))
    .where(options.undelivered ? sql`coalesce(${agents.connected}, 0) = 0` : undefined)
    .groupBy(messages.sessionId)
    .orderBy(desc(at), desc(eventId))
    .all();
}

const undelivered = (db: Db, tenant: string) => troubled(db, tenant, "pending", { undelivered: true });
const expired = (db: Db, tenant: string) => troubled(db, tenant, "expired");

/** Whether the event is an answer's first word or tool run: it takes the user's message out of waiting or expired. */
function answered(db: Db, e: StoredEvent): boolean {
  const sessionId = e.type === "tool.started" ? (JSON.parse(e.data) as { session_id?: string }).session_id : e.subject;
  if (!sessionId) return false;
  const where = and(eq(chatMessages.tenant, e.tenant), eq(chatMessages.sessionId, sessionId), eq(chatMessages.role, "user"), eq(chatMessages.eventId, e.id));
  return db.select({ one: sql`1` }).from(chatMessages).where(where).limit(1).get() !== undefined;
}

/**
 * Chat on the overview: sessions (none is ever closed: every one is open),
 * and those with a message not delivered (its agent is offline) or expired
 * unanswered, which need attention.
 */
export const chatOverview: OverviewSource = {
  // Agents: whether a waiting message can be delivered is its agent's presence.
  topics: ["chat", "tool", "agent"],
  tile(db, tenant) {
    const list = `${tenantPath(tenant)}/sessions`;
    return {
      id: "chat",
      title: "Chat",
      href: list,
      counts: [
        { label: "open", count: countAtMost(db, chatSessions, eq(chatSessions.tenant, tenant)), href: list },
        { label: "undelivered", count: undelivered(db, tenant).length, href: `${list}?unread=1`, tone: "warn" },
        { label: "expired", count: expired(db, tenant).length, href: `${list}?unread=1`, tone: "bad" },
      ],
    };
  },
  attention(db, tenant, limit) {
    const base = tenantPath(tenant);
    const entries: AttentionEntry[] = [];
    const waiting = undelivered(db, tenant);
    const unanswered = expired(db, tenant);
    const entry = (kind: "waiting" | "expired", s: Troubled, detail: string): AttentionEntry => ({
      kind,
      what: "chat",
      label: sessionLabel(s),
      detail,
      href: `${base}/sessions/${encodeURIComponent(s.sessionId)}`,
      at: s.at,
      eventId: s.eventId,
    });
    for (const s of waiting.slice(0, limit)) entries.push(entry("waiting", s, `not delivered: ${s.agent} is offline`));
    for (const s of unanswered.slice(0, limit)) entries.push(entry("expired", s, `${s.agent} did not answer in time`));
    return {
      entries,
      groups: [
        { kind: "waiting", what: "chat", label: "undelivered chats", count: waiting.length, href: `${base}/sessions?unread=1` },
        { kind: "expired", what: "chat", label: "expired chats", count: unanswered.length, href: `${base}/sessions?unread=1` },
      ],
    };
  },
  quiet(db, e) {
    // Only presence changes whether a message can be delivered; an agent's reported status does not.
    if (e.type === "agent.status") return true;
    // An answer's first word or tool run takes its question out of waiting; the rest of it changes nothing shown.
    if (e.type === "chat.delta" || e.type === "tool.started") return !answered(db, e);
    return e.type.startsWith("tool.");
  },
};
