import { and, asc, desc, eq, getTableColumns, gt, inArray, or, sql, type SQL } from "drizzle-orm";
import { notOlderThan, olderThan, pageOf, type Page } from "../../store/keyset.js";
import { containing, searchedPage, windowEnd } from "../../store/search.js";
import type { SessionFilter } from "./sessions-filter.js";
import type { Db } from "../../store/db.js";
import { ID, preparedFor, TENANT } from "../../store/prepared.js";
import { chatDeltas, chatMessages, chatSessions, toolRuns } from "./schema.js";

export type Session = typeof chatSessions.$inferSelect;
export type ToolRun = typeof toolRuns.$inferSelect;
export type MessageRow = typeof chatMessages.$inferSelect;

/** A message as read: an assistant's text assembled from its deltas, with the tool runs it made. */
export interface Message extends MessageRow {
  text: string;
  tools: ToolRun[];
}

/** Rows are never deleted, so SQLite's implicit rowid is creation order (no column records it). */
const creation = sql`rowid`;

/** A tenant's sessions, most recently active first, optionally of one agent. */
export function listSessions(db: Db, tenant: string, options: { agent?: string; limit: number }): Session[] {
  const where = and(eq(chatSessions.tenant, tenant), options.agent === undefined ? undefined : eq(chatSessions.agent, options.agent));
  return db.select().from(chatSessions).where(where).orderBy(desc(chatSessions.updatedAt), desc(creation)).limit(options.limit).all();
}

/** A session as the console lists it: with its creation order (`seq`), which breaks ties of `updatedAt`. */
export type ListedSession = Session & { seq: number };

/** How many sessions a page of the sessions list shows. */
export const SESSIONS_PAGE = 50;

/**
 * One page of a tenant's sessions, most recently active first, after the
 * filter's cursor: one seek on the index of (tenant, [status or agent,]
 * updated_at), or the partial index of sessions with unanswered messages.
 * A search (`q`) is checked row by row along that index: it reads the
 * tenant's sessions until a page of matches is found.
 */
export function sessionsPage(db: Db, tenant: string, f: SessionFilter, size = SESSIONS_PAGE): Page<ListedSession> {
  // Creation order is a number: compared as text, every rowid would sort before the cursor's.
  const cursor = f.cursor && { at: f.cursor.at, id: Number(f.cursor.id) };
  const range = and(
    eq(chatSessions.tenant, tenant),
    f.status ? eq(chatSessions.status, f.status) : undefined,
    f.agent ? eq(chatSessions.agent, f.agent) : undefined,
    f.unread ? gt(chatSessions.unanswered, 0) : undefined,
    olderThan(cursor, chatSessions.updatedAt, creation),
  );
  const order = [desc(chatSessions.updatedAt), desc(creation)];
  // A search reads one window of the range (from the index alone, to find its end), then its matches within it.
  const end = windowEnd(f.q, db.select({ at: chatSessions.updatedAt, id: sql<number>`${creation}` }).from(chatSessions).where(range).orderBy(...order));
  const rows = db
    .select({ ...getTableColumns(chatSessions), seq: sql<number>`${creation}` })
    .from(chatSessions)
    .where(and(range, containing([chatSessions.sessionId, chatSessions.title], f.q), end && notOlderThan(end, chatSessions.updatedAt, creation)))
    .orderBy(...order)
    .limit(size + 1)
    .all();
  return searchedPage(
    pageOf(rows, size, (s) => ({ at: s.updatedAt, id: s.seq })),
    end ?? null,
  );
}

export function findSession(db: Db, tenant: string, sessionId: string): Session | undefined {
  return db.select().from(chatSessions).where(and(eq(chatSessions.tenant, tenant), eq(chatSessions.sessionId, sessionId))).get();
}

/** By primary key, prepared once per database: the feed names every item's subject with it. */
const toolRunById = preparedFor((db) =>
  db
    .select()
    .from(toolRuns)
    .where(and(eq(toolRuns.tenant, TENANT), eq(toolRuns.toolId, ID)))
    .prepare(),
);

export function findToolRun(db: Db, tenant: string, toolId: string): ToolRun | undefined {
  return toolRunById(db).get({ tenant, id: toolId });
}

/**
 * A session's messages in the order they began. An assistant's text is its
 * deltas joined in `seq` order (each seq kept once), so pieces that arrived
 * out of order or twice read right.
 */
export function sessionMessages(db: Db, tenant: string, sessionId: string): Message[] {
  return readMessages(db, tenant, sessionId, null);
}

/** One turn of a session: a user's message and the answers to it (the console re-renders one turn, not the transcript). */
export function turnMessages(db: Db, tenant: string, sessionId: string, userMessageId: string): Message[] {
  return readMessages(db, tenant, sessionId, or(eq(chatMessages.messageId, userMessageId), eq(chatMessages.replyTo, userMessageId))!);
}

/** One message, assembled, with its tool runs. */
export function findMessage(db: Db, tenant: string, sessionId: string, messageId: string): Message | undefined {
  return readMessages(db, tenant, sessionId, eq(chatMessages.messageId, messageId))[0];
}

function readMessages(db: Db, tenant: string, sessionId: string, only: SQL | null): Message[] {
  const rows = db
    .select()
    .from(chatMessages)
    .where(and(eq(chatMessages.tenant, tenant), eq(chatMessages.sessionId, sessionId), only ?? undefined))
    .orderBy(asc(creation))
    .all();
  if (rows.length === 0) return [];
  // Narrowed to the rows read (one turn, one message): a streamed answer's render reads its own pieces only.
  const ids = only ? rows.map((m) => m.messageId) : null;
  const pieces = db
    .select({ messageId: chatDeltas.messageId, text: chatDeltas.text })
    .from(chatDeltas)
    .where(and(eq(chatDeltas.tenant, tenant), eq(chatDeltas.sessionId, sessionId), ids ? inArray(chatDeltas.messageId, ids) : undefined))
    .orderBy(asc(chatDeltas.messageId), asc(chatDeltas.seq))
    .all();
  const runs = db
    .select()
    .from(toolRuns)
    .where(and(eq(toolRuns.tenant, tenant), eq(toolRuns.sessionId, sessionId), ids ? inArray(toolRuns.messageId, ids) : undefined))
    .orderBy(asc(creation))
    .all();

  const texts = new Map<string, string[]>();
  for (const p of pieces) group(texts, p.messageId).push(p.text);
  const tools = new Map<string, ToolRun[]>();
  for (const r of runs) group(tools, r.messageId).push(r);
  return rows.map((m) => ({
    ...m,
    text: m.role === "user" ? (m.text ?? "") : (texts.get(m.messageId) ?? []).join(""),
    tools: tools.get(m.messageId) ?? [],
  }));
}

/** The id of the last event that changed a message (its text, its status), if it exists. */
export function messageVersion(db: Db, tenant: string, sessionId: string, messageId: string): number | undefined {
  const where = and(eq(chatMessages.tenant, tenant), eq(chatMessages.sessionId, sessionId), eq(chatMessages.messageId, messageId));
  return db.select({ eventId: chatMessages.eventId }).from(chatMessages).where(where).get()?.eventId;
}

/** A message's status, if it exists. */
export function messageStatus(db: Db, tenant: string, sessionId: string, messageId: string): MessageRow["status"] | undefined {
  const where = and(eq(chatMessages.tenant, tenant), eq(chatMessages.sessionId, sessionId), eq(chatMessages.messageId, messageId));
  return db.select({ status: chatMessages.status }).from(chatMessages).where(where).get()?.status;
}

/** The user messages of a session still waiting for its agent's answer. */
export function pendingInSession(db: Db, tenant: string, sessionId: string): string[] {
  const where = and(eq(chatMessages.tenant, tenant), eq(chatMessages.sessionId, sessionId), eq(chatMessages.role, "user"), eq(chatMessages.status, "pending"));
  return db.select({ messageId: chatMessages.messageId }).from(chatMessages).where(where).all().map((r) => r.messageId);
}

/** User messages waiting for their agent's answer, across tenants: their deadlines are re-armed on boot. */
export function pendingMessages(db: Db): Pick<MessageRow, "tenant" | "sessionId" | "messageId" | "createdAt">[] {
  return db
    .select({ tenant: chatMessages.tenant, sessionId: chatMessages.sessionId, messageId: chatMessages.messageId, createdAt: chatMessages.createdAt })
    .from(chatMessages)
    .where(and(eq(chatMessages.role, "user"), eq(chatMessages.status, "pending")))
    .all();
}

function group<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}
