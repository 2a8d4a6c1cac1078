import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StoredEvent } from "../src/event.js";
import { openDb } from "../src/store/db.js";
import { AppendRejected } from "../src/store/event-log.js";
import { ReplicaWriter } from "../src/store/replica-writer.js";
import { TenantStore } from "../src/store/tenants.js";
import { createLogger } from "../src/logger.js";

/**
 * A PostgreSQL node's replica applies what PostgreSQL committed: runs of
 * events no projection reads go in many rows a statement, the others one
 * at a time through the hooks. Whatever the mix, every event must land at
 * the id PostgreSQL gave it (ids may have gaps: a refused request's, other
 * nodes'), the hooks must see exactly the others, and the type summary must
 * count them all.
 */
describe("ReplicaWriter", () => {
  let db: ReturnType<typeof openDb>;
  let hooked: number[];
  let writer: ReplicaWriter;

  beforeEach(() => {
    db = openDb(":memory:");
    db.$client.pragma("foreign_keys = OFF");
    for (const t of ["acme", "beta"]) new TenantStore(db).create(t);
    hooked = [];
    const hook = (e: StoredEvent) => {
      if (e.type === "hooked.refuse") throw new AppendRejected(422, "refused by the hook");
      hooked.push(e.id);
    };
    writer = new ReplicaWriter(db, [hook], createLogger("silent"), (type) => !type.startsWith("hooked."));
  });
  afterEach(() => db.$client.close());

  let nextId = 1;
  const events = (n: number, type: string, tenant = "acme", gap = 0): StoredEvent[] => {
    nextId += gap;
    return Array.from({ length: n }, () => {
      const id = nextId++;
      return { id, tenant, type, subject: `s-${id}`, data: `{"id":${id}}`, key: type === "order.keyed" ? `k-${id}` : null, ts: 1_000 + id };
    });
  };

  it("stores every event at its id, hooks only the projected ones, and counts every type", async () => {
    nextId = 5;
    // Runs of every length the statements come in (100, 10, 1 rows), broken by hooked events and id gaps.
    const all = [
      ...events(237, "order.placed"),
      ...events(1, "hooked.one"),
      ...events(9, "order.placed", "beta", 3),
      ...events(2, "order.keyed"),
      ...events(1, "hooked.refuse"),
      ...events(100, "order.placed", "acme", 40),
      ...events(1, "hooked.two"),
      ...events(1, "order.placed"),
    ];
    await writer.apply(all);

    const refused = all.find((e) => e.type === "hooked.refuse")!;
    const kept = all.filter((e) => e !== refused);
    const rows = db.$client.prepare("SELECT id, tenant, type, subject, data, key, ts FROM events ORDER BY id").all() as StoredEvent[];
    expect(rows).toEqual(kept);
    expect(hooked).toEqual(all.filter((e) => e.type === "hooked.one" || e.type === "hooked.two").map((e) => e.id));
    const counts = db.$client.prepare("SELECT tenant, type, count FROM event_type_counts ORDER BY tenant, type").all();
    expect(counts).toEqual([
      { tenant: "acme", type: "hooked.one", count: 1 },
      { tenant: "acme", type: "hooked.two", count: 1 },
      { tenant: "acme", type: "order.keyed", count: 2 },
      { tenant: "acme", type: "order.placed", count: 338 },
      { tenant: "beta", type: "order.placed", count: 9 },
    ]);
  });
});
