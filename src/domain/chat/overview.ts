import { and, desc, eq, sql } from "drizzle-orm";
import { cappedCount, COUNT_CAP } from "../../console/overview-count.js";
import { tenantPath, type AttentionEntry, type OverviewSource } from "../../console/overview.js";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { preparedFor, STATE, TENANT } from "../../store/prepared.js";
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
 * Prepared once per database, for each of the two uses.
 */
function troubled(options: { undelivered?: boolean }) {
  return preparedFor((db) => {
    const messages = db
      .select({ sessionId: chatMessages.sessionId, at: chatMessages.updatedAt, eventId: chatMessages.eventId })
      .from(chatMessages)
      .where(and(eq(chatMessages.tenant, TENANT), eq(chatMessages.status, STATE)))
      .orderBy(desc(chatMessages.updatedAt))
      .limit(COUNT_CAP + 1)
      .as("m");
    const at = sql<number>`max(${messages.at})`;
    const eventId = sql<number>`max(${messages.eventId})`;
    return db
      .select({ sessionId: messages.sessionId, agent: chatSessions.agent, title: chatSessions.title, at, eventId })
      .from(messages)
      .innerJoin(chatSessions, and(eq(chatSessions.tenant, TENANT), eq(chatSessions.sessionId, messages.sessionId)))
      .leftJoin(agents, and(eq(agents.tenant, TENANT), eq(agents.agentId, chatSessions.agent)))
      .where(options.undelivered ? sql`coalesce(${agents.connected}, 0) = 0` : undefined)
      .groupBy(messages.sessionId)
      .orderBy(desc(at), desc(eventId))
      .prepare();
  });
}

const pendingUndelivered = troubled({ undelivered: true });
const anyInStatus = troubled({});
const undelivered = (db: Db, tenant: string): Troubled[] => pendingUndelivered(db).all({ tenant, state: "pending" });
const expired = (db: Db, tenant: string): Troubled[] => anyInStatus(db).all({ tenant, state: "expired" });
const openSessions = cappedCount(chatSessions, eq(chatSessions.tenant, TENANT));

/** The user's message an event is the answer to, if it is that message's first answer. */
const answerTo = preparedFor((db) =>
  db
    .select({ one: sql`1` })
    .from(chatMessages)
    .where(
      and(
        eq(chatMessages.tenant, TENANT),
        eq(chatMessages.sessionId, sql.placeholder("session")),
        eq(chatMessages.role, "user"),
        eq(chatMessages.eventId, sql.placeholder("event")),
      ),
    )
    .limit(1)
    .prepare(),
);

/** Whether the event is an answer's first word or tool run: it takes the user's message out of waiting or expired. */
function answered(db: Db, e: StoredEvent): boolean {
  const sessionId = e.type === "tool.started" ? (JSON.parse(e.data) as { session_id?: string }).session_id : e.subject;
  if (!sessionId) return false;
  return answerTo(db).get({ tenant: e.tenant, session: sessionId, event: e.id }) !== undefined;
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
        { label: "open", count: openSessions(db, { tenant }), href: list },
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
