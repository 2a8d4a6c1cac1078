import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * What a session is doing, from its messages: an answer is streaming, a
 * user's message waits for its agent to take it up, or nothing is in flight.
 */
export const SESSION_STATUSES = ["answering", "waiting", "idle"] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Chat sessions: a conversation between users and one agent; kept regardless of event retention. */
export const chatSessions = sqliteTable(
  "chat_sessions",
  {
    tenant: text("tenant").notNull(),
    sessionId: text("session_id").notNull(),
    /** The agent (worker) that answers: user messages are delivered to it as commands. */
    agent: text("agent").notNull(),
    title: text("title"),
    /** Kept by the projection from the session's messages (see SESSION_STATUSES). */
    status: text("status", { enum: SESSION_STATUSES }).notNull().default("idle"),
    /** User messages its agent has not answered: waiting (pending) or never delivered (expired). */
    unanswered: integer("unanswered").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    eventId: integer("event_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.sessionId] }),
    // The sessions list, most recently active first, with and without each filter (the rowid every
    // index ends with is creation order, which breaks ties of the last activity).
    index("chat_sessions_tenant_updated_idx").on(t.tenant, t.updatedAt),
    index("chat_sessions_tenant_status_updated_idx").on(t.tenant, t.status, t.updatedAt),
    index("chat_sessions_tenant_agent_updated_idx").on(t.tenant, t.agent, t.updatedAt),
    index("chat_sessions_tenant_unanswered_updated_idx").on(t.tenant, t.updatedAt).where(sql`${t.unanswered} > 0`),
  ],
);

/**
 * An assistant's message streams, then is complete or failed (error). A
 * user's message is pending until its agent answers it (complete), or
 * expires unanswered after COMMAND_TIMEOUT_MS; a late answer completes it.
 * (User messages of earlier versions are complete from the start.)
 */
export const MESSAGE_STATUSES = ["streaming", "complete", "error", "pending", "expired"] as const;

export const chatMessages = sqliteTable(
  "chat_messages",
  {
    tenant: text("tenant").notNull(),
    sessionId: text("session_id").notNull(),
    messageId: text("message_id").notNull(),
    role: text("role", { enum: ["user", "assistant"] }).notNull(),
    /** A user's text; an assistant's is assembled from its deltas when read. */
    text: text("text"),
    status: text("status", { enum: MESSAGE_STATUSES }).notNull(),
    /** For an assistant message: the user message it answers. */
    replyTo: text("reply_to"),
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    eventId: integer("event_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.sessionId, t.messageId] }),
    // The overview's sessions with messages waiting or expired, newest first (src/domain/chat/overview.ts).
    index("chat_messages_tenant_status_updated_idx").on(t.tenant, t.status, t.updatedAt),
  ],
);

/** Pieces of an assistant's answer, by sequence number: out-of-order and repeated deltas assemble right. */
export const chatDeltas = sqliteTable(
  "chat_deltas",
  {
    tenant: text("tenant").notNull(),
    sessionId: text("session_id").notNull(),
    messageId: text("message_id").notNull(),
    seq: integer("seq").notNull(),
    text: text("text").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.sessionId, t.messageId, t.seq] })],
);

export const TOOL_STATUSES = ["running", "completed", "failed", "cancelled"] as const;

/** Tool executions, each belonging to one message of a session. */
export const toolRuns = sqliteTable(
  "tool_runs",
  {
    tenant: text("tenant").notNull(),
    toolId: text("tool_id").notNull(),
    sessionId: text("session_id").notNull(),
    messageId: text("message_id").notNull(),
    name: text("name").notNull(),
    status: text("status", { enum: TOOL_STATUSES }).notNull(),
    /** 0..1 */
    progress: real("progress").notNull().default(0),
    /** Output chunks so far, concatenated (bounded). */
    output: text("output").notNull().default(""),
    error: text("error"),
    /** A cancel was requested and not yet answered. */
    cancelRequested: integer("cancel_requested", { mode: "boolean" }).notNull().default(false),
    startedAt: integer("started_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    eventId: integer("event_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.toolId] })],
);
