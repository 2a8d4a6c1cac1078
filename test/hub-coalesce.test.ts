import { afterEach, describe, expect, it, vi } from "vitest";
import type { StoredEvent } from "../src/event.js";
import { Hub } from "../src/hub/hub.js";
import { jsonFrame } from "../src/hub/json-frame.js";
import type { Sink } from "../src/hub/sink.js";
import { nextTurn } from "../src/next-turn.js";

/**
 * The hub writes a stream at most once per `coalesceMs` while commits keep
 * landing, and at once after a quiet spell; after a round of writes longer
 * than that, it waits as long as the round took (at most `coalesceMaxMs`).
 * The hub is plain code with a byte sink (no HTTP), so its writes are
 * counted exactly here; the clock and timers are vitest's, so the window
 * passes when the test says so.
 */

const WINDOW = 50;

/** A sink that records each gathered write as the text of its chunks; each write takes `costMs` of the (fake) clock. */
function recordingSink(costMs = 0): Sink & { writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    chunked: false,
    write(chunks, written) {
      writes.push(Buffer.concat(chunks).toString());
      if (costMs > 0) vi.advanceTimersByTime(costMs);
      written();
    },
    buffered: () => 0,
    end() {},
    destroy() {},
  };
}

let id = 0;
const event = (): StoredEvent => ({ id: ++id, tenant: "acme", type: "bench.tick", subject: null, data: `{"n":${id}}`, key: null, ts: 0 });

function liveStream(coalesceMs: number, coalesceMaxMs = 0, writeCostMs = 0) {
  const hub = new Hub({ maxBuffer: 1 << 20, heartbeatMs: 60_000, maxStreamsPerTenant: 10, coalesceMs, coalesceMaxMs });
  const sink = recordingSink(writeCostMs);
  const sub = hub.subscribe({ tenant: "acme", key: "all", match: () => true, encode: jsonFrame }, sink, id);
  sub.state = "live";
  return { hub, sink };
}

/** Runs the loop for a few turns: what is due without the clock moving gets written. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await nextTurn();
}

/** Commits `e`, lets `thenMs` of the fake clock pass, and runs the loop. */
async function commit(hub: Hub, e: StoredEvent, thenMs = 0): Promise<void> {
  hub.publish([e]);
  await elapse(thenMs);
}

/** Lets `ms` of the fake clock pass (firing what falls due), then runs the loop. */
async function elapse(ms: number): Promise<void> {
  if (ms > 0) vi.advanceTimersByTime(ms);
  await turns();
}

afterEach(() => {
  vi.useRealTimers();
});

describe("coalescing a burst of commits into one write per stream", () => {
  it("writes a first commit at once, holds the next ones for the window, then writes them together", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const { hub, sink } = liveStream(WINDOW);
    const [first, second, third, fourth] = [event(), event(), event(), event()];
    await commit(hub, first);
    expect(sink.writes).toEqual([jsonFrame(first)]);

    // Two more commits, each in its own turn, within the window: nothing is written yet.
    await commit(hub, second);
    await commit(hub, third);
    expect(sink.writes).toHaveLength(1);

    await elapse(WINDOW);
    expect(sink.writes).toEqual([jsonFrame(first), jsonFrame(second) + jsonFrame(third)]);

    // After a quiet spell longer than the window, a commit goes without waiting.
    vi.advanceTimersByTime(WINDOW * 2);
    await commit(hub, fourth);
    expect(sink.writes.at(-1)).toBe(jsonFrame(fourth));
    hub.closeAll();
  });

  it("after a round of writes longer than the window, waits as long as the round took before the next", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    // Each write takes 30 ms, as a round of writes to a thousand streams would: the window alone (2 ms) is long past.
    const { hub, sink } = liveStream(2, 100, 30);
    const [first, second, third] = [event(), event(), event()];
    await commit(hub, first);
    expect(sink.writes).toEqual([jsonFrame(first)]);

    await commit(hub, second, 10);
    await commit(hub, third, 10);
    expect(sink.writes).toHaveLength(1);

    // 30 ms after the round ended: the two commits that landed while the hub waited go in one write.
    await elapse(10);
    expect(sink.writes).toEqual([jsonFrame(first), jsonFrame(second) + jsonFrame(third)]);
    hub.closeAll();
  });

  it("waits after a round at most coalesceMaxMs, however long the round took", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const { hub, sink } = liveStream(2, 10, 30);
    await commit(hub, event());
    const second = event();
    await commit(hub, second, 9);
    expect(sink.writes).toHaveLength(1);
    await elapse(1);
    expect(sink.writes.at(-1)).toBe(jsonFrame(second));
    hub.closeAll();
  });

  it("with a window of 0 writes every turn's commits in that turn", async () => {
    const { hub, sink } = liveStream(0);
    const events = [event(), event(), event()];
    for (const e of events) {
      hub.publish([e]);
      await turns();
    }
    expect(sink.writes).toEqual(events.map(jsonFrame));
    hub.closeAll();
  });
});
