import type Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewEvent, StoredEvent } from "../src/event.js";
import { finishJsonFrame, jsonFrame } from "../src/hub/json-frame.js";
import { parseTypes } from "../src/hub/type-filter.js";
import { openDb } from "../src/store/db.js";
import type { ReadQuery } from "../src/store/event-log.js";
import { EventReader, type ReadLimits } from "../src/store/event-reads.js";
import { SqliteWriter } from "../src/store/sqlite-writer.js";
import { seeded } from "./support/random.js";

/** A statement run by the reader, with its arguments, so its plan can be asked for. */
interface Ran {
  sql: string;
  args: unknown[];
}

/** Wraps a connection so every statement's `all` is recorded. */
function recording(db: Database.Database, ran: Ran[]): Database.Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop !== "prepare") return Reflect.get(target, prop, target);
      return (sql: string) => {
        const recorded: Database.Statement = new Proxy(target.prepare(sql), {
          get(stmt, p) {
            const value = Reflect.get(stmt, p, stmt);
            if (p === "all") return (...args: unknown[]) => (ran.push({ sql, args }), value.apply(stmt, args));
            // raw() returns its statement, for chaining: keep recording through it.
            if (p === "raw") return (...args: unknown[]) => (value.apply(stmt, args), recorded);
            return typeof value === "function" ? value.bind(stmt) : value;
          },
        });
        return recorded;
      };
    },
  });
}

/** The plan lines SQLite gives for a recorded statement. */
function plan(db: Database.Database, r: Ran): string[] {
  return (db.prepare(`EXPLAIN QUERY PLAN ${r.sql}`).all(...r.args) as { detail: string }[]).map((p) => p.detail);
}

/**
 * Reads every page from 0 on, following `through` as a stream's catch-up does, and checks the page
 * contract (plain checks: this runs for thousands of pages).
 */
function readAll(reader: EventReader, q: Omit<ReadQuery, "after">, head: number): StoredEvent[] {
  const events: StoredEvent[] = [];
  let after = 0;
  for (let pages = 1; pages < 10_000; pages++) {
    const page = reader.read({ ...q, after }, head);
    const fail = (what: string) => {
      throw new Error(`${what}: page after ${after} of ${JSON.stringify(q)} gave ${JSON.stringify(page.events.map((e) => e.id))} through ${page.through}`);
    };
    if (page.events.length > q.limit) fail("more events than the limit");
    for (const e of page.events) {
      if (e.id <= (events.at(-1)?.id ?? after)) fail("ids not increasing");
      if (e.id > page.through) fail("an event beyond through");
      events.push(e);
    }
    if (page.events.length === q.limit && page.through !== page.events[q.limit - 1].id) fail("a full page's through is not its last id");
    if (page.through >= head) return events;
    // A page that is not full may still stop short of the head (a bounded scan), but never stands still.
    if (page.through <= after) fail("through does not advance");
    after = page.through;
  }
  throw new Error("read does not end");
}


const TENANTS = ["acme", "beta", "gamma"];
const TYPES = ["call.started", "call.ended", "call", "agent.status", "agent.status.changed", "a.b.c", "x-y.z_0", "workflow.progress", "calls.x"];
const SUBJECTS = [null, null, "c-1", "c-2", "agent-7", "w"];

/** The log's head: the last id handed out. */
const headOf = (sqlite: Database.Database): number =>
  (sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck().get() as number | undefined) ?? 0;

describe("history reads through indexes", () => {
  let db: ReturnType<typeof openDb>;
  let sqlite: Database.Database;
  let writer: SqliteWriter;

  beforeEach(() => {
    db = openDb(":memory:");
    sqlite = db.$client;
    writer = new SqliteWriter(sqlite, []);
  });
  afterEach(() => sqlite.close());

  /** Commits one request (no idempotency keys) with the log's own writer; returns the stored events. */
  async function append(tenant: string, events: NewEvent[]): Promise<StoredEvent[]> {
    const { ts, outcomes } = await writer.commit([{ seq: 1, tenant, events }]);
    const outcome = outcomes[0];
    if ("rejected" in outcome) throw new Error(outcome.rejected.message);
    return events.map((e, i) => ({ id: outcome.ids[i], tenant, type: e.type, subject: e.subject, data: e.data, key: e.key, ts }));
  }

  /** Appends `n` random events, in several requests so they interleave across tenants. */
  async function fill(n: number, random: () => number, types = TYPES): Promise<StoredEvent[]> {
    const all: StoredEvent[] = [];
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    for (let done = 0; done < n; ) {
      const tenant = pick(TENANTS);
      const size = Math.min(n - done, 1 + Math.floor(random() * 40));
      const batch = Array.from({ length: size }, () => ({ type: pick(types), subject: pick(SUBJECTS), data: `{"r":${random()}}`, key: null }));
      all.push(...(await append(tenant, batch)));
      done += size;
    }
    return all;
  }

  it("reads type and subject filters without scanning the tenant's events", async () => {
    await fill(600, seeded(1));
    // 40 types in one tenant: a glob matching them all is more than the merge takes (maxRanges).
    await append("acme", Array.from({ length: 40 }, (_, i) => ({ type: `many.t${i}`, subject: null, data: "{}", key: null })));
    const ran: Ran[] = [];
    const reader = new EventReader(recording(sqlite, ran));
    const head = headOf(sqlite);
    const queries: [Omit<ReadQuery, "after" | "limit">, "none" | "indexed" | "bounded"][] = [
      [{ tenant: "acme", types: ["nomatch.*"] }, "none"],
      [{ tenant: "acme", types: ["nomatch.*", "zzz"], subject: "c-1" }, "none"],
      [{ tenant: "acme", types: ["call.*"] }, "indexed"],
      [{ tenant: "acme", types: ["call.started", "agent.*", "*.z_0"] }, "indexed"],
      [{ tenant: "acme", types: [], subject: "nomatch" }, "indexed"],
      [{ tenant: "acme", types: [], subject: "c-1" }, "indexed"],
      [{ tenant: "acme", types: ["call.*"], subject: "c-1" }, "indexed"],
      [{ tenant: null, types: ["call.*"] }, "indexed"],
      [{ tenant: "acme", types: ["many.*"] }, "bounded"],
    ];
    for (const [q, expected] of queries) {
      ran.length = 0;
      reader.read({ ...q, after: 0, limit: 100 }, head);
      const reads = ran.filter((r) => /\bFROM events\b/.test(r.sql));
      if (expected === "none") {
        expect(reads, JSON.stringify(q)).toEqual([]);
        continue;
      }
      expect(reads.length, JSON.stringify(q)).toBeGreaterThan(0);
      for (const r of reads) {
        const lines = plan(sqlite, r);
        const where = `${JSON.stringify(q)}: ${lines.join(" / ")}`;
        expect(lines.some((l) => /^SCAN events\b/.test(l)), where).toBe(false);
        expect(lines.some((l) => /TEMP B-TREE/.test(l)), where).toBe(false);
        // The tenant's whole range serves only a bounded scan, whose statement caps the rows it examines.
        if (lines.some((l) => l.includes("events_tenant_id_idx"))) {
          expect(expected, where).toBe("bounded");
          expect(r.sql).toMatch(/LIMIT @limit$/);
          expect(r.args[0]).toMatchObject({ limit: 4000 });
        }
      }
    }
  });

  it("returns what a plain filter over all events returns, page after page, on every path", async () => {
    const random = seeded(2);
    const many = Array.from({ length: 12 }, (_, i) => `many.t${i}`);
    const all = new Map((await fill(1500, random, [...TYPES, ...many])).map((e) => [e.id, e]));
    const head = headOf(sqlite);
    const plain = sqlite.prepare("SELECT id FROM events NOT INDEXED WHERE (@tenant IS NULL OR tenant = @tenant) AND (@subject IS NULL OR subject = @subject) AND type GLOB @glob").pluck();
    const expectedIds = (q: Omit<ReadQuery, "after" | "limit">) => {
      if (q.types.length === 0) return plain.all({ tenant: q.tenant, subject: q.subject ?? null, glob: "*" }) as number[];
      const ids = new Set(q.types.flatMap((g) => plain.all({ tenant: q.tenant, subject: q.subject ?? null, glob: g }) as number[]));
      return [...ids].sort((a, b) => a - b);
    };
    const segment = () => ["call", "agent", "status", "*", "c*", "*s", "t*", "many", "a", "b", "x-y", "z_0", "**"][Math.floor(random() * 13)];
    const randomGlob = () => Array.from({ length: 1 + Math.floor(random() * 3) }, segment).join(".");
    // Default limits, and limits small enough to take the fallbacks on this little data.
    const limitsSets: Partial<ReadLimits>[] = [{}, { maxRanges: 2, scanRows: 7 }, { maxTypesExamined: 3, scanRows: 25 }, { maxRanges: 1, maxTypesExamined: 5, scanRows: 3 }];
    let nonEmpty = 0;
    for (const limits of limitsSets) {
      const reader = new EventReader(sqlite, limits);
      for (let i = 0; i < 60; i++) {
        const q = {
          tenant: random() < 0.2 ? null : TENANTS[Math.floor(random() * TENANTS.length)],
          types: random() < 0.2 ? [] : parseTypes(Array.from({ length: 1 + Math.floor(random() * 3) }, randomGlob).join(",")),
          subject: random() < 0.5 ? null : SUBJECTS[2 + Math.floor(random() * 4)],
          limit: 1 + Math.floor(random() * 60),
        };
        const want = expectedIds(q);
        const got = readAll(reader, q, head);
        expect(got.map((e) => e.id), `${JSON.stringify(q)} with ${JSON.stringify(limits)}`).toEqual(want);
        // Whole events, as stored.
        expect(got).toEqual(got.map((e) => all.get(e.id)));
        if (want.length > 0) nonEmpty++;
      }
    }
    expect(nonEmpty).toBeGreaterThan(100);
  });

  it("reads replay frames, SQLite-built, byte for byte as live streams frame the same events", async () => {
    const random = seeded(4);
    await fill(300, random);
    // Subjects and data JSON escapes and UTF-8 must come out of SQLite as JSON.stringify and the hub write them.
    const odd = ['say "hi"', "back\\slash", "naïve/ünïcode", "emoji 🛰️ 中文", "<tag>&amp;", "'quote'", "\u2028sep"];
    await append(
      "acme",
      odd.map((subject, i) => ({ type: "call.started", subject, data: JSON.stringify({ i, text: subject, nested: { a: [1, "é"] } }), key: null })),
    );
    const head = headOf(sqlite);
    const queries: Omit<ReadQuery, "after">[] = [
      { tenant: "acme", types: [], limit: 37 },
      { tenant: null, types: [], limit: 100 },
      { tenant: "acme", types: parseTypes("call.*,agent.status"), limit: 11 },
      { tenant: "beta", types: [], subject: "c-1", limit: 5 },
      { tenant: "acme", types: parseTypes("call.*"), subject: 'say "hi"', limit: 5 },
      // A scan (types beyond what the merge takes): frames are read by id.
      { tenant: "gamma", types: parseTypes("*.*"), limit: 9 },
    ];
    const reader = new EventReader(sqlite, { maxRanges: 2, scanRows: 13 });
    let frames = 0;
    for (const q of queries) {
      for (let after = 0; after < head; ) {
        const page = reader.read({ ...q, after }, head);
        const framed = reader.readFrames({ ...q, after }, head);
        expect(framed.through, JSON.stringify({ ...q, after })).toBe(page.through);
        expect(framed.rows.map(([id]) => id)).toEqual(page.events.map((e) => e.id));
        expect(framed.rows.map(([, ts, start]) => finishJsonFrame(start, ts))).toEqual(page.events.map(jsonFrame));
        frames += framed.rows.length;
        after = page.through;
      }
    }
    expect(frames).toBeGreaterThan(300);
  });

  it("leaves events above the given head to the next read", async () => {
    const appended = await fill(200, seeded(3));
    const acme = appended.filter((e) => e.tenant === "acme" && e.type.startsWith("call."));
    expect(acme.length).toBeGreaterThan(3);
    const reader = new EventReader(sqlite);
    const head = acme[1].id;
    for (const q of [{ types: ["call.*"] }, { types: ["call.*"], subject: "c-1" }, { types: [] as string[] }]) {
      const page = reader.read({ tenant: "acme", after: 0, limit: 1000, ...q }, head);
      expect(page.through).toBe(head);
      expect(page.events.every((e) => e.id <= head)).toBe(true);
    }
    expect(reader.read({ tenant: "acme", types: ["call.*"], after: 0, limit: 1000 }, head).events).toEqual(acme.slice(0, 2));
  });
});
