import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Chat sessions: a conversation between users and one agent; kept regardless of event retention. */
export const chatSessions = sqliteTable(
  "chat_sessions",
  {
    tenant: text("tenant").notNull(),
    sessionId: text("session_id").notNull(),
    /** The agent (worker) that answers: user messages are delivered to it as commands. */
    agent: text("agent").notNull(),
    title: text("title"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    eventId: integer("event_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.sessionId] })],
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
