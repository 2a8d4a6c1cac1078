import { and, desc, eq, type SQL } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { calls } from "./schema.js";

export type Call = typeof calls.$inferSelect;

/** How many ended calls the panel keeps. */
export const RECENT_CALLS = 20;

/** Filters for a call list: one tenant (null: every tenant, admin) and optionally one client. */
export interface CallScope {
  tenant: string | null;
  client?: string | null;
}

const where = (scope: CallScope, status: "active" | "ended"): SQL | undefined =>
  and(eq(calls.status, status), scope.tenant === null ? undefined : eq(calls.tenant, scope.tenant), scope.client ? eq(calls.client, scope.client) : undefined);

export function activeCalls(db: Db, scope: CallScope): Call[] {
  return db.select().from(calls).where(where(scope, "active")).orderBy(desc(calls.startedAt), desc(calls.eventId)).all();
}

export function recentCalls(db: Db, scope: CallScope, limit = RECENT_CALLS): Call[] {
  // Calls ended in the same millisecond (one group commit) keep log order: the later end first.
  return db.select().from(calls).where(where(scope, "ended")).orderBy(desc(calls.endedAt), desc(calls.eventId)).limit(limit).all();
}

export function findCall(db: Db, tenant: string, callId: string): Call | undefined {
  return db.select().from(calls).where(and(eq(calls.tenant, tenant), eq(calls.callId, callId))).get();
}
