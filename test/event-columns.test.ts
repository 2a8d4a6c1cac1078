import { describe, expect, it } from "vitest";
import type { NewEvent, StoredEvent } from "../src/event.js";
import { packNew, unpackNew, unpackStored, type StoredEventColumns } from "../src/store/event-columns.js";

describe("events as columns between threads", () => {
  const fresh: NewEvent[] = [
    { type: "call.started", subject: "c1", data: '{"from":"…1234"}', key: "k1", fingerprint: "fp-of-k1" },
    { type: "hello.world", subject: null, data: "{}", key: null, fingerprint: null },
    { type: "agent.status", subject: "ada", data: '{"status":"busy"}', key: null, fingerprint: null },
  ];

  it("packs new events and unpacks them after what is already there, in order", () => {
    const out: NewEvent[] = [fresh[0]];
    expect(unpackNew(structuredClone(packNew(fresh, 1)), out)).toEqual(fresh);
    expect(unpackNew(packNew(fresh, 0, 0), [])).toEqual([]);
  });

  it("round-trips stored events through a structured clone, nulls included", () => {
    // The log keeps a key's fingerprint for the writer alone: stored events as read carry none.
    const stored: StoredEvent[] = fresh.map(({ fingerprint: _, ...e }, i) => ({ id: 10 + i, tenant: i === 1 ? "acme" : "demo", ...e, ts: 1_700_000_000_000 + i }));
    const columns: StoredEventColumns = {
      ids: stored.map((e) => e.id),
      tenants: stored.map((e) => e.tenant),
      types: stored.map((e) => e.type),
      subjects: stored.map((e) => e.subject),
      data: stored.map((e) => e.data),
      keys: stored.map((e) => e.key),
      ts: stored.map((e) => e.ts),
    };
    expect(unpackStored(structuredClone(columns))).toEqual(stored);
  });
});
