import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../src/event.js";
import { Hub } from "../src/hub/hub.js";
import { jsonFrame } from "../src/hub/json-frame.js";
import type { Sink } from "../src/hub/sink.js";
import { nextTurn } from "../src/next-turn.js";

/**
 * A stream with several small frames queued is written as one buffer, and
 * the streams that queued the same frames share that buffer: one join per
 * flush, not a copy per stream. Byte sinks record exactly what each write
 * was handed.
 */

/** What each sink was handed, write by write. */
const writes = new Map<string, (readonly Buffer[])[]>();

function sink(name: string, chunked = false): Sink {
  writes.set(name, []);
  return {
    chunked,
    write(chunks, written) {
      writes.get(name)!.push(chunks);
      written();
    },
    buffered: () => 0,
    end() {},
    destroy() {},
  };
}

let id = 0;
const event = (type: string, bytes = 20): StoredEvent => ({ id: ++id, tenant: "demo", type, subject: null, data: JSON.stringify({ pad: "x".repeat(bytes) }), key: null, ts: 0 });
const framed = (events: StoredEvent[]) => events.map((e) => jsonFrame(e)).join("");
/** HTTP/1.1 chunk framing of each frame, as the hub writes it to a chunked socket. */
const chunkedFrames = (events: StoredEvent[]) => events.map((e) => `${Buffer.byteLength(jsonFrame(e)).toString(16)}\r\n${jsonFrame(e)}\r\n`).join("");

describe("joined frames", () => {
  it("writes several queued frames as one buffer, the same buffer for every stream that queued them", async () => {
    const hub = new Hub({ maxBuffer: 4 << 20, heartbeatMs: 60_000, maxStreamsPerTenant: 10 });
    const all = { tenant: "demo", key: "all", match: () => true, encode: jsonFrame };
    const calls = { tenant: "demo", key: "calls", match: (e: StoredEvent) => e.type.startsWith("call."), encode: jsonFrame };
    hub.subscribe(all, sink("a"), id).state = "live";
    hub.subscribe(all, sink("b", true), id).state = "live";
    hub.subscribe(all, sink("c"), id).state = "live";
    hub.subscribe(calls, sink("calls"), id).state = "live";
    // Two commits before the next turn's flush: every stream has two or three frames queued.
    const first = [event("call.started"), event("chat.message")];
    const second = [event("call.ended")];
    hub.publish(first);
    hub.publish(second);
    await nextTurn();
    await nextTurn();

    const one = (name: string) => {
      const w = writes.get(name)!;
      expect(w).toHaveLength(1);
      expect(w[0]).toHaveLength(1);
      return w[0][0];
    };
    const a = one("a");
    expect(a.toString()).toBe(framed([...first, ...second]));
    // The same frames: the same buffer, not a copy.
    expect(one("c")).toBe(a);
    // The chunked stream queued the same events framed as chunks: its own join, valid chunked bytes.
    expect(one("b").toString()).toBe(chunkedFrames([...first, ...second]));
    // Another filter queued other frames: its own join, of exactly them.
    const calls2 = one("calls");
    expect(calls2).not.toBe(a);
    expect(calls2.toString()).toBe(framed([first[0], second[0]]));
    hub.closeAll();
  });

  it("writes a single frame, and a queue above the join's size, as the shared frames themselves", async () => {
    writes.clear();
    const hub = new Hub({ maxBuffer: 4 << 20, heartbeatMs: 60_000, maxStreamsPerTenant: 10 });
    const all = { tenant: "demo", key: "all", match: () => true, encode: jsonFrame };
    hub.subscribe(all, sink("x"), id).state = "live";
    hub.subscribe(all, sink("y"), id).state = "live";
    const lone = event("call.started");
    hub.publish([lone]);
    await nextTurn();
    await nextTurn();
    const [x] = writes.get("x")!;
    const [y] = writes.get("y")!;
    expect(x).toHaveLength(1);
    expect(x[0]).toBe(y[0]);
    expect(x[0].toString()).toBe(jsonFrame(lone));

    const big = [event("call.started", 10_000), event("call.ended", 10_000)];
    hub.publish(big);
    await nextTurn();
    await nextTurn();
    const bigX = writes.get("x")![1];
    expect(bigX).toHaveLength(2);
    // Not copied: the very frames every stream shares.
    expect(bigX[0]).toBe(writes.get("y")![1][0]);
    expect(Buffer.concat(bigX).toString()).toBe(framed(big));
    hub.closeAll();
  });
});
