import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewEvent } from "../src/event.js";
import { openDb } from "../src/store/db.js";
import { AppendRejected } from "../src/store/event-log.js";
import { SqliteWriter, type AppendOutcome } from "../src/store/sqlite-writer.js";
import { TenantStore } from "../src/store/tenants.js";

/**
 * The writer inserts runs of plain events (no key, a type no hook reads)
 * many rows per statement, and every other event one at a time. Whatever
 * the mix, each request must get back the ids its events were stored at, in
 * order, and the hooks must see exactly the other events, with their ids.
 */
describe("SqliteWriter", () => {
  let db: ReturnType<typeof openDb>;
  let hooked: { id: number; type: string; subject: string | null }[];
  let writer: SqliteWriter;

  beforeEach(() => {
    db = openDb(":memory:");
    for (const t of ["acme", "beta"]) new TenantStore(db).create(t);
    hooked = [];
    writer = new SqliteWriter(
      db.$client,
      [
        (e) => {
          if (e.type === "hooked.refuse") throw new AppendRejected(422, "refused by the hook");
          hooked.push({ id: e.id, type: e.type, subject: e.subject });
        },
      ],
      { plain: (type) => !type.startsWith("hooked.") },
    );
  });
  afterEach(() => db.$client.close());

  const plain = (n: number, tag: string): NewEvent[] =>
    Array.from({ length: n }, (_, i) => ({ type: "order.placed", subject: `${tag}-${i}`, data: `{"i":${i},"tag":"${tag}"}`, key: null }));
  const stored = (id: number) =>
    db.$client.prepare("SELECT tenant, type, subject, data, key FROM events WHERE id = ?").get(id) as Record<string, string | null> | undefined;
  const idsOf = (outcome: AppendOutcome) => {
    if ("rejected" in outcome) throw new Error(outcome.rejected.message);
    return outcome;
  };

  it("stores every event of a mixed batch at the id it answers, in order, and hooks only the others", async () => {
    // Runs of every length the statements come in (100, 10, 1 rows), broken by keyed and hooked events.
    const events: NewEvent[] = [
      ...plain(237, "a"),
      { type: "hooked.one", subject: "h-1", data: "{}", key: null },
      ...plain(9, "b"),
      { type: "order.keyed", subject: "k-1", data: "{}", key: "k-1", fingerprint: "f1" },
      { type: "hooked.two", subject: "h-2", data: "{}", key: "k-2", fingerprint: "f2" },
      ...plain(100, "c"),
      { type: "order.keyed", subject: "k-1", data: "{}", key: "k-1", fingerprint: "f1" },
      ...plain(1, "d"),
    ];
    const { outcomes } = await writer.commit([
      { seq: 1, tenant: "acme", events },
      { seq: 2, tenant: "beta", events: plain(12, "e") },
    ]);
    const first = idsOf(outcomes[0]);
    const second = idsOf(outcomes[1]);

    // The second use of k-1 is a repeat: it answers the first one's id and stores nothing.
    const repeatAt = events.length - 2;
    expect(first.repeats).toEqual([repeatAt]);
    expect(first.ids[repeatAt]).toBe(first.ids[238 + 9]);
    const fresh = [...first.ids.slice(0, repeatAt), ...first.ids.slice(repeatAt + 1), ...second.ids];
    // One writer: ids follow each other with no gap, across runs, statements and requests.
    expect(fresh).toEqual(Array.from({ length: fresh.length }, (_, i) => fresh[0] + i));

    events.forEach((e, i) => {
      if (i === repeatAt) return;
      expect(stored(first.ids[i])).toEqual({ tenant: "acme", type: e.type, subject: e.subject, data: e.data, key: e.key });
    });
    plain(12, "e").forEach((e, i) => expect(stored(second.ids[i])).toMatchObject({ tenant: "beta", subject: e.subject, data: e.data }));
    expect(hooked).toEqual([
      { id: first.ids[237], type: "hooked.one", subject: "h-1" },
      // A keyed event is checked against its key's first use, one at a time, hooks and all (not the repeat).
      { id: first.ids[238 + 9], type: "order.keyed", subject: "k-1" },
      { id: first.ids[238 + 9 + 1], type: "hooked.two", subject: "h-2" },
    ]);
  });

  it("rolls back a rejected request's plain runs and keeps its neighbours' ids exact", async () => {
    const { outcomes } = await writer.commit([
      { seq: 1, tenant: "acme", events: plain(150, "a") },
      { seq: 2, tenant: "acme", events: [...plain(120, "x"), { type: "hooked.refuse", subject: null, data: "{}", key: null }] },
      { seq: 3, tenant: "beta", events: plain(33, "b") },
    ]);
    expect(outcomes[1]).toMatchObject({ seq: 2, rejected: { status: 422 } });
    const kept = [...idsOf(outcomes[0]).ids, ...idsOf(outcomes[2]).ids];
    expect(kept).toEqual(Array.from({ length: 183 }, (_, i) => kept[0] + i));
    expect(db.$client.prepare("SELECT count(*) FROM events").pluck().get()).toBe(183);
    expect(db.$client.prepare("SELECT count(*) FROM events WHERE subject LIKE 'x-%'").pluck().get()).toBe(0);
    plain(33, "b").forEach((e, i) => expect(stored(idsOf(outcomes[2]).ids[i])).toMatchObject({ tenant: "beta", subject: e.subject, data: e.data }));
  });
});
