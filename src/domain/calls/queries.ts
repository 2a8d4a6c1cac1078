import { and, desc, eq, getTableColumns, gte, lt, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { ID, preparedFor, TENANT } from "../../store/prepared.js";
import { olderThan, pageOf, type Page } from "../../store/keyset.js";
import { maskNumber } from "../mask.js";
import type { CallFilter } from "./filter.js";
import { calls } from "./schema.js";

export type Call = typeof calls.$inferSelect;

/** A call as the calls list reads it: with its row's creation order (`seq`), which breaks ties of the start time. */
export type ListedCall = Call & { seq: number };

/** How many calls a page of the calls list shows. */
export const CALLS_PAGE = 50;

/** Rows are never deleted, so SQLite's implicit rowid is creation order; every index ends with it. */
const seq = sql<number>`rowid`;

/**
 * One page of a tenant's calls, newest start first, after the filter's
 * cursor: one seek on the index of (tenant, [the filter's column,]
 * started_at), however deep the page.
 */
export function callsPage(db: Db, tenant: string, f: CallFilter, size = CALLS_PAGE): Page<ListedCall> {
  const where = and(
    eq(calls.tenant, tenant),
    f.status ? eq(calls.status, f.status) : undefined,
    f.direction ? eq(calls.direction, f.direction) : undefined,
    f.agent ? eq(calls.agent, f.agent) : undefined,
    // Stored masked: the number ending in these digits is one stored value.
    f.last4 ? eq(calls.number, maskNumber(f.last4)) : undefined,
    f.from !== null ? gte(calls.startedAt, f.from) : undefined,
    f.until !== null ? lt(calls.startedAt, f.until) : undefined,
    olderThan(f.cursor, calls.startedAt, seq),
  );
  const rows = db
    .select({ ...getTableColumns(calls), seq })
    .from(calls)
    .where(where)
    .orderBy(desc(calls.startedAt), desc(seq))
    .limit(size + 1)
    .all();
  return pageOf(rows, size, (c) => ({ at: c.startedAt, id: String(c.seq) }));
}

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

/** By primary key, prepared once per database: the feed names every item's subject with it. */
const callById = preparedFor((db) =>
  db
    .select()
    .from(calls)
    .where(and(eq(calls.tenant, TENANT), eq(calls.callId, ID)))
    .prepare(),
);

export function findCall(db: Db, tenant: string, callId: string): Call | undefined {
  return callById(db).get({ tenant, id: callId });
}
