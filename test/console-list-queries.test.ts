import type Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callFilter } from "../src/domain/calls/filter.js";
import { callsPage, type ListedCall } from "../src/domain/calls/queries.js";
import { calls } from "../src/domain/calls/schema.js";
import { refreshSessionStatus } from "../src/domain/chat/projection.js";
import { sessionsPage, type ListedSession } from "../src/domain/chat/queries.js";
import { chatMessages, chatSessions, SESSION_STATUSES } from "../src/domain/chat/schema.js";
import { sessionFilter } from "../src/domain/chat/sessions-filter.js";
import * as schema from "../src/store/schema.js";
import { openDb, type Db } from "../src/store/db.js";
import type { Page } from "../src/store/keyset.js";
import { seeded } from "./support/random.js";

/** A statement run through a connection, with its arguments, so its plan can be asked for. */
interface Ran {
  sql: string;
  args: unknown[];
}

/** The same database through a connection that records every statement a query runs. */
function recording(sqlite: Database.Database, ran: Ran[]): Db {
  const client = new Proxy(sqlite, {
    get(target, prop) {
      if (prop !== "prepare") return Reflect.get(target, prop, target);
      return (sql: string) => {
        const recorded: Database.Statement = new Proxy(target.prepare(sql), {
          get(stmt, p) {
            const value = Reflect.get(stmt, p, stmt);
            if (p === "all" || p === "get" || p === "run") return (...args: unknown[]) => (ran.push({ sql, args }), value.apply(stmt, args));
            if (p === "raw") return (...args: unknown[]) => (value.apply(stmt, args), recorded);
            return typeof value === "function" ? value.bind(stmt) : value;
          },
        });
        return recorded;
      };
    },
  });
  return drizzle(client, { schema }) as unknown as Db;
}

/** The plan lines SQLite gives for a recorded statement. */
const plan = (sqlite: Database.Database, r: Ran): string[] =>
  (sqlite.prepare(`EXPLAIN QUERY PLAN ${r.sql}`).all(...r.args) as { detail: string }[]).map((p) => p.detail);

const TENANTS = ["acme", "demo"];
const AGENTS = ["ada", "grace", "linus", null];
/** Few distinct times, so many rows tie on the sort time and the tie-break is exercised. */
const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;

/** Every page of a list, following its cursors from the first. */
function allPages<T>(read: (before: string | undefined) => Page<T>): T[][] {
  const pages: T[][] = [];
  let before: string | undefined;
  for (;;) {
    const page = read(before);
    pages.push(page.rows);
    if (!page.older) return pages;
    before = `${page.older.at}.${page.older.id}`;
    if (pages.length > 1000) throw new Error("paging does not end");
  }
}

describe("the calls and sessions lists: pages, filters and plans on the real schema", () => {
  let db: Db;
  let sqlite: Database.Database;
  const allCalls: (typeof calls.$inferInsert & { seq: number })[] = [];
  const allSessions: { tenant: string; sessionId: string; agent: string; title: string | null; updatedAt: number; seq: number }[] = [];

  beforeAll(async () => {
    db = openDb(":memory:");
    sqlite = db.$client;
    const random = seeded(20_261_129);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    for (let i = 0; i < 1500; i++) {
      const active = random() < 0.2;
      const startedAt = T0 + Math.floor(random() * 40) * HOUR;
      const row = {
        tenant: pick(TENANTS),
        callId: `call-${i}`,
        direction: pick(["inbound", "outbound"] as const),
        number: `•••${pick(["0142", "0199", "7788", "5000"])}`,
        agent: pick(AGENTS),
        status: active ? ("active" as const) : ("ended" as const),
        startedAt,
        endedAt: active ? null : startedAt + 60_000,
        eventId: i + 1,
      };
      db.insert(calls).values(row).run();
      allCalls.push({ ...row, seq: i + 1 });
    }
    for (let i = 0; i < 900; i++) {
      const row = { tenant: pick(TENANTS), sessionId: `s-${i}${pick(["", "_x", "%y"])}`, agent: pick(["helper", "sales"]), title: pick(["Refund", "Delivery 50%", null]), createdAt: T0, updatedAt: T0 + Math.floor(random() * 30) * HOUR, eventId: i + 1 };
      db.insert(chatSessions).values(row).run();
      allSessions.push({ ...row, seq: i + 1 });
      // Some have messages in flight: the projection's refresh sets their status from them.
      const status = pick(["complete", "pending", "expired", "streaming", "complete"] as const);
      const role = status === "streaming" ? "assistant" : "user";
      db.insert(chatMessages).values({ tenant: row.tenant, sessionId: row.sessionId, messageId: "m1", role, status, createdAt: T0, updatedAt: T0, eventId: i + 1 }).run();
      await refreshSessionStatus(db, row.tenant, row.sessionId);
    }
  });
  afterAll(() => sqlite.close());

  const newestFirst = <T extends { seq: number }>(at: (row: T) => number) => (a: T, b: T) => at(b) - at(a) || b.seq - a.seq;

  const CALL_FILTERS: Record<string, string>[] = [
    {},
    { status: "active" },
    { status: "ended" },
    { direction: "outbound" },
    { agent: "grace" },
    { last4: "0142" },
    { from: "2026-11-02" },
    { to: "2026-11-01T12:00" },
    { from: "2026-11-01T05:00", to: "2026-11-02" },
    { status: "ended", agent: "ada", direction: "inbound" },
    { last4: "7788", from: "2026-11-01T10:00" },
  ];

  it("reads every call of a filter exactly once, newest first, across keyset pages (ties broken by creation)", () => {
    for (const query of CALL_FILTERS) {
      for (const tenant of TENANTS) {
        const f = callFilter(query);
        const expected = allCalls
          .filter((c) => c.tenant === tenant)
          .filter((c) => (!f.status || c.status === f.status) && (!f.direction || c.direction === f.direction) && (!f.agent || c.agent === f.agent))
          .filter((c) => (!f.last4 || c.number === `•••${f.last4}`) && (f.from === null || c.startedAt >= f.from) && (f.until === null || c.startedAt < f.until))
          .sort(newestFirst((c) => c.startedAt))
          .map((c) => c.callId);
        const pages = allPages((before) => callsPage(db, tenant, callFilter({ ...query, before }), 50));
        expect(pages.flat().map((c: ListedCall) => c.callId), JSON.stringify(query)).toEqual(expected);
        // Full pages but the last, which is never empty unless the list is.
        for (const page of pages.slice(0, -1)) expect(page).toHaveLength(50);
      }
    }
    // The filters cut: each one picked a real subset somewhere.
    expect(callsPage(db, "acme", callFilter({ last4: "0142" }), 2000).rows.length).toBeLessThan(callsPage(db, "acme", callFilter({}), 2000).rows.length);
  });

  it("takes a time range's ends as whole days or minutes, UTC, both included", () => {
    const f = callFilter({ from: "2026-11-01T05:00", to: "2026-11-02" });
    expect(f.from).toBe(Date.UTC(2026, 10, 1, 5));
    expect(f.until).toBe(Date.UTC(2026, 10, 3));
    expect(callFilter({ to: "2026-11-01T12:00" }).until).toBe(Date.UTC(2026, 10, 1, 12, 1));
    // Not a time, not 4 digits, not a status: left out, as if unset.
    expect(callFilter({ from: "yesterday", last4: "12", status: "ringing", direction: "sideways" })).toMatchObject({ from: null, last4: null, status: null, direction: null });
  });

  const SESSION_FILTERS: Record<string, string>[] = [
    {},
    ...SESSION_STATUSES.map((status) => ({ status })),
    { agent: "sales" },
    { unread: "1" },
    { q: "refund" },
    { q: "_x" },
    { q: "%" },
    { status: "waiting", agent: "helper", unread: "1" },
  ];

  it("reads every session of a filter exactly once, most recently active first, across keyset pages", () => {
    const state = new Map(
      (sqlite.prepare("SELECT tenant, session_id, status, unanswered FROM chat_sessions").all() as { tenant: string; session_id: string; status: string; unanswered: number }[]).map(
        (r) => [`${r.tenant}/${r.session_id}`, r],
      ),
    );
    // What the projection's refresh made of the messages in flight.
    expect(new Set([...state.values()].map((r) => r.status))).toEqual(new Set(SESSION_STATUSES));
    for (const query of SESSION_FILTERS) {
      for (const tenant of TENANTS) {
        const f = sessionFilter(query);
        const expected = allSessions
          .filter((s) => s.tenant === tenant)
          .filter((s) => {
            const st = state.get(`${s.tenant}/${s.sessionId}`)!;
            const text = (v: string | null) => v !== null && v.toLowerCase().includes(f.q!.toLowerCase());
            return (!f.status || st.status === f.status) && (!f.agent || s.agent === f.agent) && (!f.unread || st.unanswered > 0) && (!f.q || text(s.sessionId) || text(s.title));
          })
          .sort(newestFirst((s) => s.updatedAt))
          .map((s) => s.sessionId);
        const pages = allPages((before) => sessionsPage(db, tenant, sessionFilter({ ...query, before }), 50));
        expect(pages.flat().map((s: ListedSession) => s.sessionId), JSON.stringify(query)).toEqual(expected);
      }
    }
  });

  /** The plans of the statements `read` runs. */
  async function plansOf(read: (db: Db) => unknown): Promise<string[][]> {
    const ran: Ran[] = [];
    await read(recording(sqlite, ran));
    expect(ran.length).toBeGreaterThan(0);
    return ran.map((r) => plan(sqlite, r));
  }

  /** Deep in the list: a cursor from the middle of the unfiltered pages. */
  const deepCursor = (read: (before: string | undefined) => Page<unknown>) => {
    const first = read(undefined).older!;
    const second = read(`${first.at}.${first.id}`).older!;
    return `${second.at}.${second.id}`;
  };

  it("reads each calls page through an index of (tenant, [filter,] started_at): no table scan, no sort, first page or deep", async () => {
    const before = deepCursor((b) => callsPage(db, "acme", callFilter({ before: b }), 50));
    for (const query of CALL_FILTERS) {
      for (const cursor of [{}, { before }]) {
        const plans = await plansOf((rec) => callsPage(rec, "acme", callFilter({ ...query, ...cursor })));
        for (const lines of plans) {
          const where = JSON.stringify({ ...query, ...cursor });
          expect(lines.join(" | "), where).toMatch(/^SEARCH calls USING INDEX calls_tenant_(started|status_started|direction_started|agent_started|number_started)_idx \(tenant=\?/);
          expect(lines.join(" | "), where).not.toMatch(/SCAN|TEMP B-TREE/);
          // A cursor is a seek to it: the bound on started_at is part of the index search, not a walk from the top.
          if ("before" in cursor) expect(lines.join(" | "), where).toMatch(/started_at<\?/);
        }
      }
    }
  });

  it("reads each sessions page through an index of (tenant, [filter,] updated_at): no table scan, no sort", async () => {
    const before = deepCursor((b) => sessionsPage(db, "acme", sessionFilter({ before: b }), 50));
    for (const query of SESSION_FILTERS) {
      for (const cursor of [{}, { before }]) {
        const plans = await plansOf((rec) => sessionsPage(rec, "acme", sessionFilter({ ...query, ...cursor })));
        for (const lines of plans) {
          const where = JSON.stringify({ ...query, ...cursor });
          // A search (q) is checked along the tenant's index, in order: it reads rows until a page matches, never sorts.
          expect(lines.join(" | "), where).toMatch(/^SEARCH chat_sessions USING (COVERING )?INDEX chat_sessions_tenant_(updated|status_updated|agent_updated|unanswered_updated)_idx \(tenant=\?/);
          expect(lines.join(" | "), where).not.toMatch(/SCAN|TEMP B-TREE/);
          if ("before" in cursor) expect(lines.join(" | "), where).toMatch(/updated_at<\?/);
        }
      }
    }
    // The projection's refresh of a session's status reads that session's messages through their key.
    for (const lines of await plansOf((rec) => refreshSessionStatus(rec, "acme", "s-1"))) expect(lines.join(" | ")).not.toMatch(/SCAN chat_messages|SCAN chat_sessions/);
  });
});
