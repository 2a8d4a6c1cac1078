import { and, count, eq, inArray } from "drizzle-orm";
import type { z } from "zod";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { AppendRejected } from "../../store/event-log.js";
import type { Data, Projection, WorkerOf } from "../domain.js";
import { topicOf } from "../registry.js";
import { projectTool, toolRunOf } from "./tool-projection.js";
import type { chatCompleted, chatDelta, chatError, chatMessage, chatMessageExpired, sessionStarted } from "./events.js";
import type { Session } from "./queries.js";
import { chatDeltas, chatMessages, chatSessions, type SessionStatus } from "./schema.js";

type Message = typeof chatMessages.$inferSelect;
type Status = Message["status"];

/** Applies chat.* events (subject: the session) to sessions, messages and deltas, inside the append transaction. */
export async function projectChat(db: Db, e: StoredEvent, data: Data): Promise<void> {
  const sessionId = e.subject!;
  switch (e.type) {
    case "chat.session_started": {
      const d = data as z.output<typeof sessionStarted>;
      const existing = await sessionOf(db, e.tenant, sessionId);
      if (existing) throw new AppendRejected(409, `session ${sessionId} already exists (agent ${existing.agent})`);
      await insertSession(db, e, sessionId, d.agent, d.title ?? null);
      return;
    }
    case "chat.message": {
      const d = data as z.output<typeof chatMessage>;
      await userMessage(db, e, sessionId, d);
      return;
    }
    case "chat.delta": {
      const d = data as z.output<typeof chatDelta>;
      const message = await answerFor(db, e, sessionId, d, "streaming");
      const piece = { tenant: e.tenant, sessionId, messageId: d.message_id, seq: d.seq };
      if (message.status !== "streaming") {
        // A piece already kept, sent again (a producer's retry): in the log, harmless, not an error.
        if (await hasDelta(db, piece)) return;
        throw new AppendRejected(409, `message ${d.message_id} has already ${ended(message.status)}; it takes no more deltas`);
      }
      // INSERT OR IGNORE: a repeated seq is appended to the log but changes no state (first text wins).
      const kept = await db.insert(chatDeltas).values({ ...piece, text: d.text }).onConflictDoNothing().returning({ seq: chatDeltas.seq });
      if (kept.length === 0) return;
      await stampMessage(db, e, sessionId, d.message_id, {});
      await touchSession(db, e, sessionId);
      return;
    }
    case "chat.message_expired": {
      const d = data as z.output<typeof chatMessageExpired>;
      const message = await findMessage(db, e.tenant, sessionId, d.message_id);
      // The answer may have committed first: then there is nothing left to expire.
      if (message?.role !== "user" || message.status !== "pending") throw new AppendRejected(409, `message ${d.message_id} of session ${sessionId} is not waiting for an answer`);
      await stampMessage(db, e, sessionId, d.message_id, { status: "expired" });
      return;
    }
    case "chat.completed":
    case "chat.error": {
      const d = data as z.output<typeof chatCompleted> & Partial<z.output<typeof chatError>>;
      const status: Status = e.type === "chat.completed" ? "complete" : "error";
      const message = await answerFor(db, e, sessionId, d, status);
      // Created by this very event (an answer with no delta), it already has its final status.
      if (message.eventId !== e.id) {
        if (message.status !== "streaming") throw new AppendRejected(409, `message ${d.message_id} has already ${ended(message.status)}`);
        await stampMessage(db, e, sessionId, d.message_id, { status, error: d.reason ?? null });
      }
      await touchSession(db, e, sessionId);
      return;
    }
  }
}

/**
 * The assistant message an answer event is about. It exists, or the event
 * names in `reply_to` the user message of this session it answers, which
 * creates it (with `status`). Anything else is a piece of nobody's answer.
 * `allowUser`: the event may attach to a user message too (a tool run).
 */
export async function answerFor(
  db: Db,
  e: StoredEvent,
  sessionId: string,
  d: { message_id: string; reply_to?: string; reason?: string },
  status: Status,
  options: { allowUser?: boolean } = {},
): Promise<Message> {
  await requireSession(db, e.tenant, sessionId);
  const existing = await findMessage(db, e.tenant, sessionId, d.message_id);
  if (existing) {
    if (existing.role === "user" && !options.allowUser) {
      throw new AppendRejected(409, `message ${d.message_id} is a user message; ${e.type} is for the agent's answers`);
    }
    if (d.reply_to !== undefined && d.reply_to !== existing.replyTo) {
      const what = existing.role === "user" ? "is a user message, not a reply" : `replies to ${existing.replyTo}`;
      throw new AppendRejected(409, `message ${d.message_id} ${what}; reply_to ${d.reply_to} does not match`);
    }
    // A tool run on the user's message itself: the agent has it, and is working on it.
    if (existing.role === "user") await answered(db, e, sessionId, existing);
    return existing;
  }
  if (d.reply_to === undefined) {
    throw new AppendRejected(409, `no message ${d.message_id} in session ${sessionId}; the first event of an answer must name the user message it answers in reply_to`);
  }
  const question = await findMessage(db, e.tenant, sessionId, d.reply_to);
  if (question?.role !== "user") throw new AppendRejected(409, `reply_to: no user message ${d.reply_to} in session ${sessionId}`);
  await answered(db, e, sessionId, question);
  const row: Message = {
    tenant: e.tenant,
    sessionId,
    messageId: d.message_id,
    role: "assistant",
    text: null,
    status,
    replyTo: d.reply_to,
    error: status === "error" ? (d.reason ?? null) : null,
    createdAt: e.ts,
    updatedAt: e.ts,
    eventId: e.id,
  };
  await db.insert(chatMessages).values(row);
  await refreshSessionStatus(db, e.tenant, sessionId);
  return row;
}

/** A user's message; its first one may open the session (with `agent`). Its target must be the session's agent. */
async function userMessage(db: Db, e: StoredEvent, sessionId: string, d: z.output<typeof chatMessage>): Promise<void> {
  const session = await sessionOf(db, e.tenant, sessionId);
  const agent = session?.agent ?? d.agent;
  if (agent === undefined) {
    throw new AppendRejected(409, `no session ${sessionId}; its first message must name the agent that answers in data.agent`);
  }
  if (d.agent !== undefined && d.agent !== agent) throw new AppendRejected(409, `session ${sessionId} belongs to agent ${agent}, not ${d.agent}`);
  if (d.worker !== agent) {
    throw new AppendRejected(409, `data.worker must be the session's agent (${agent}), who receives the message, not ${d.worker}`);
  }
  if (!session) await insertSession(db, e, sessionId, agent, null);
  else if (await findMessage(db, e.tenant, sessionId, d.message_id)) {
    throw new AppendRejected(409, `session ${sessionId} already has a message ${d.message_id}`);
  }
  // Pending until its agent answers: the console tells the operator what it waits for (see MESSAGE_STATUSES).
  await db
    .insert(chatMessages)
    .values({ tenant: e.tenant, sessionId, messageId: d.message_id, role: "user", text: d.text, status: "pending", createdAt: e.ts, updatedAt: e.ts, eventId: e.id });
  await refreshSessionStatus(db, e.tenant, sessionId);
  await touchSession(db, e, sessionId);
}

/** The agent has taken up a user's message (its first answer event): no longer waiting, or expired. */
async function answered(db: Db, e: StoredEvent, sessionId: string, question: Message): Promise<void> {
  if (question.status === "pending" || question.status === "expired") await stampMessage(db, e, sessionId, question.messageId, { status: "complete" });
}

export async function requireSession(db: Db, tenant: string, sessionId: string): Promise<Session> {
  const session = await sessionOf(db, tenant, sessionId);
  if (!session) throw new AppendRejected(409, `no session ${sessionId}`);
  return session;
}

/** Marks the session active at this event, so the list shows the latest conversations first. */
export async function touchSession(db: Db, e: StoredEvent, sessionId: string): Promise<void> {
  await db.update(chatSessions).set({ updatedAt: e.ts, eventId: e.id }).where(sessionKey(e.tenant, sessionId));
}

async function insertSession(db: Db, e: StoredEvent, sessionId: string, agent: string, title: string | null): Promise<void> {
  await db.insert(chatSessions).values({ tenant: e.tenant, sessionId, agent, title, createdAt: e.ts, updatedAt: e.ts, eventId: e.id });
}

/** A session as the append transaction sees it. */
async function sessionOf(db: Db, tenant: string, sessionId: string): Promise<Session | undefined> {
  const [session] = await db.select().from(chatSessions).where(sessionKey(tenant, sessionId)).limit(1);
  return session;
}

async function findMessage(db: Db, tenant: string, sessionId: string, messageId: string): Promise<Message | undefined> {
  const [message] = await db.select().from(chatMessages).where(messageKey(tenant, sessionId, messageId)).limit(1);
  return message;
}

async function stampMessage(db: Db, e: StoredEvent, sessionId: string, messageId: string, changes: Partial<Message>): Promise<void> {
  await db
    .update(chatMessages)
    .set({ ...changes, updatedAt: e.ts, eventId: e.id })
    .where(messageKey(e.tenant, sessionId, messageId));
  if (changes.status !== undefined) await refreshSessionStatus(db, e.tenant, sessionId);
}

/**
 * The session's status and unanswered count, from its messages in flight
 * (read through the messages' key, this session's rows only): kept on the
 * session so the sessions list filters by them through an index. Run
 * whenever a message is created or changes status.
 */
export async function refreshSessionStatus(db: Db, tenant: string, sessionId: string): Promise<void> {
  const counts = await db
    .select({ status: chatMessages.status, n: count() })
    .from(chatMessages)
    .where(and(eq(chatMessages.tenant, tenant), eq(chatMessages.sessionId, sessionId), inArray(chatMessages.status, ["streaming", "pending", "expired"])))
    .groupBy(chatMessages.status);
  const n = (status: Status) => counts.find((c) => c.status === status)?.n ?? 0;
  const status: SessionStatus = n("streaming") > 0 ? "answering" : n("pending") > 0 ? "waiting" : "idle";
  await db.update(chatSessions).set({ status, unanswered: n("pending") + n("expired") }).where(sessionKey(tenant, sessionId));
}

async function hasDelta(db: Db, p: { tenant: string; sessionId: string; messageId: string; seq: number }): Promise<boolean> {
  const where = and(eq(chatDeltas.tenant, p.tenant), eq(chatDeltas.sessionId, p.sessionId), eq(chatDeltas.messageId, p.messageId), eq(chatDeltas.seq, p.seq));
  return (await db.select({ seq: chatDeltas.seq }).from(chatDeltas).where(where).limit(1)).length > 0;
}

const sessionKey = (tenant: string, sessionId: string) => and(eq(chatSessions.tenant, tenant), eq(chatSessions.sessionId, sessionId));
const messageKey = (tenant: string, sessionId: string, messageId: string) =>
  and(eq(chatMessages.tenant, tenant), eq(chatMessages.sessionId, sessionId), eq(chatMessages.messageId, messageId));
const ended = (status: Status) => (status === "complete" ? "completed" : "failed");

/** A session's agent: its answers and tool runs speak for it. */
const agentOf = async (db: Db, tenant: string, sessionId: string | undefined) => (sessionId === undefined ? null : ((await sessionOf(db, tenant, sessionId))?.agent ?? null));
const answering: WorkerOf = (db, e) => agentOf(db, e.tenant, e.subject!);
const runStarting: WorkerOf = (db, e, data) => agentOf(db, e.tenant, (data as { session_id?: string }).session_id);
const running: WorkerOf = async (db, e) => agentOf(db, e.tenant, (await toolRunOf(db, e.tenant, e.subject!))?.sessionId);

/** Chat sessions and the tool runs within them, run by the log's writer. */
export const chatProjection: Projection = {
  topics: ["chat", "tool"],
  project: (db, e, data) => (topicOf(e.type) === "tool" ? projectTool(db, e, data) : projectChat(db, e, data)),
  workers: {
    "chat.delta": answering,
    "chat.completed": answering,
    "chat.error": answering,
    "tool.started": runStarting,
    "tool.progress": running,
    "tool.completed": running,
    "tool.failed": running,
    "tool.cancelled": running,
  },
};
