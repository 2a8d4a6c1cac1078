import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../src/event.js";
import { Hub } from "../src/hub/hub.js";
import { jsonFrame } from "../src/hub/json-frame.js";
import type { Sink } from "../src/hub/sink.js";
import { nextTurn } from "../src/next-turn.js";

/**
 * Streams with little queued are written before streams with a lot: a
 * tenant's single event does not wait behind the megabytes a burst queued
 * for others. The hub is plain code with byte sinks (no HTTP), so the order
 * of writes across streams is recorded exactly.
 */

/** Every write of every sink, in order, as "stream: bytes". */
const writes: string[] = [];

function sink(name: string): Sink {
  return {
    chunked: false,
    write(chunks, written) {
      writes.push(`${name}: ${Buffer.concat(chunks).length}`);
      written();
    },
    buffered: () => 0,
    end() {},
    destroy() {},
  };
}

let id = 0;
const event = (tenant: string, bytes: number): StoredEvent => ({ id: ++id, tenant, type: "bench.tick", subject: null, data: JSON.stringify({ pad: "x".repeat(bytes) }), key: null, ts: 0 });

describe("the order streams are written in", () => {
  it("writes streams holding little before streams holding a lot, each stream's frames in one write", async () => {
    const hub = new Hub({ maxBuffer: 4 << 20, heartbeatMs: 60_000, maxStreamsPerTenant: 10 });
    for (const [tenant, name] of [["bulk", "bulk-1"], ["bulk", "bulk-2"], ["probe", "probe"]] as const) {
      hub.subscribe({ tenant, key: "all", match: () => true, encode: jsonFrame }, sink(name), id).state = "live";
    }
    // One commit of the burst, then the other tenant's event: all queued before the next turn's flush.
    const burst = [event("bulk", 40_000), event("bulk", 40_000)];
    hub.publish(burst);
    const probe = event("probe", 10);
    hub.publish([probe]);
    await nextTurn();
    await nextTurn();
    const burstBytes = burst.reduce((n, e) => n + Buffer.byteLength(jsonFrame(e)), 0);
    expect(writes).toEqual([`probe: ${Buffer.byteLength(jsonFrame(probe))}`, `bulk-1: ${burstBytes}`, `bulk-2: ${burstBytes}`]);
    hub.closeAll();
  });
});
