import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../store/db.js";
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

export function findSession(db: Db, tenant: string, sessionId: string): Session | undefined {
  return db.select().from(chatSessions).where(and(eq(chatSessions.tenant, tenant), eq(chatSessions.sessionId, sessionId))).get();
}

export function findToolRun(db: Db, tenant: string, toolId: string): ToolRun | undefined {
  return db.select().from(toolRuns).where(and(eq(toolRuns.tenant, tenant), eq(toolRuns.toolId, toolId))).get();
}

/**
 * A session's messages in the order they began. An assistant's text is its
 * deltas joined in `seq` order (each seq kept once), so pieces that arrived
 * out of order or twice read right.
 */
export function sessionMessages(db: Db, tenant: string, sessionId: string): Message[] {
  const rows = db
    .select()
    .from(chatMessages)
    .where(and(eq(chatMessages.tenant, tenant), eq(chatMessages.sessionId, sessionId)))
    .orderBy(asc(creation))
    .all();
  const pieces = db
    .select({ messageId: chatDeltas.messageId, text: chatDeltas.text })
    .from(chatDeltas)
    .where(and(eq(chatDeltas.tenant, tenant), eq(chatDeltas.sessionId, sessionId)))
    .orderBy(asc(chatDeltas.messageId), asc(chatDeltas.seq))
    .all();
  const runs = db.select().from(toolRuns).where(and(eq(toolRuns.tenant, tenant), eq(toolRuns.sessionId, sessionId))).orderBy(asc(creation)).all();

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

function group<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}
