import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../src/event.js";
import { jsonFrame } from "../src/hub/json-frame.js";
import { MemoryRelease } from "../src/hub/memory-release.js";
import { RecentEvents } from "../src/hub/recent-events.js";

const event = (id: number, tenant = "a", type = "call.started", data = "{}"): StoredEvent => ({ id, tenant, type, subject: null, data, key: null, ts: 0 });
const all = () => true;
const text = (frames: Buffer[]) => frames.map((f) => f.toString()).join("");
const ids = (frames: Buffer[]) => [...text(frames).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));

describe("recent events kept for replays", () => {
  it("serves one tenant's matching frames after a cursor, and shares each frame with live delivery", () => {
    const ring = new RecentEvents(1 << 20, 60_000);
    ring.startAt(10);
    const live = [];
    for (let id = 11; id <= 20; id++) {
      const entry = ring.push(event(id, id % 2 ? "a" : "b", id % 3 ? "call.started" : "agent.status"));
      live.push(entry.frame(jsonFrame));
    }
    expect(ring.covers(9)).toBe(false);
    expect(ring.covers(10)).toBe(true);
    const page = ring.page(12, "a", (e) => e.type === "call.started", jsonFrame, 1 << 20, 100);
    expect(ids(page.frames)).toEqual([13, 17, 19]);
    expect(page.through).toBe(20);
    // The very buffers live delivery made: nothing encoded or copied again.
    expect(page.frames[0]).toBe(live[2]!.bytes);
    expect(ids(ring.page(10, null, all, jsonFrame, 1 << 20, 100).frames)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  });

  it("serves a whole page when the frames it encodes push the ring over its bound (eviction waits for the page)", () => {
    // Events alone fill the ring to just under its bound; each frame a replay encodes adds its bytes,
    // and evicting then (which may compact the ring's array) must not pull entries from under the page.
    const data = JSON.stringify({ pad: "p".repeat(40) });
    const probe = new RecentEvents(1 << 20, 60_000);
    const perEvent = probe.push(event(1, "a", "x.y", data)).bytes;
    probe.stop();
    const ring = new RecentEvents(perEvent * 3000, 60_000);
    // 1,100 evicted first, so that an eviction compacts the array (more than 1,024 dead slots, over half of it).
    for (let id = 1; id <= 4100; id++) ring.push(event(id, "a", "x.y", data));
    const from = 4100 - ring.size;
    const page = ring.page(from, "a", all, jsonFrame, 1 << 30, 2000);
    expect(ids(page.frames)).toEqual(Array.from({ length: 2000 }, (_, i) => from + 1 + i));
    expect(page.through).toBe(from + 2000);
    // The ring has let go of what the frames pushed it past its bound, once the page was made.
    expect(ring.bytes).toBeLessThanOrEqual(ring.maxBytes);
    ring.stop();
  });

  it("stops a page at its byte or frame bound, where the next one continues", () => {
    const ring = new RecentEvents(1 << 20, 60_000);
    for (let id = 1; id <= 10; id++) ring.push(event(id, "a", "x.y", JSON.stringify({ pad: "p".repeat(100) })));
    const byCount = ring.page(0, "a", all, jsonFrame, 1 << 20, 3);
    expect(ids(byCount.frames)).toEqual([1, 2, 3]);
    expect(byCount.through).toBe(3);
    // At least one frame, however small the bound.
    const tiny = ring.page(3, "a", all, jsonFrame, 1, 100);
    expect(ids(tiny.frames)).toEqual([4]);
    expect(tiny.through).toBe(4);
    expect(tiny.bytes).toBe(tiny.frames[0].length);
  });

  it("evicts the oldest past its byte bound, and no longer covers cursors before them", () => {
    const ring = new RecentEvents(10_000, 60_000);
    ring.startAt(0);
    const pad = JSON.stringify({ pad: "p".repeat(1000) });
    for (let id = 1; id <= 30; id++) ring.push(event(id, "a", "x.y", pad)).frame(jsonFrame);
    expect(ring.bytes).toBeLessThanOrEqual(10_000);
    expect(ring.covers(0)).toBe(false);
    const first = ids(ring.page(29, "a", all, jsonFrame, 1 << 20, 100).frames);
    expect(first).toEqual([30]);
    // Whatever it still covers, it holds every event of: the first cursor it covers replays without a gap.
    let from = 0;
    while (!ring.covers(from)) from++;
    expect(ids(ring.page(from, "a", all, jsonFrame, 1 << 20, 100).frames)).toEqual(Array.from({ length: 30 - from }, (_, i) => from + 1 + i));
  });

  it("lets events go after their age, and keeps covering what it still holds", () => {
    let now = 0;
    const ring = new RecentEvents(64 << 20, 10_000, () => now);
    const pad = JSON.stringify({ pad: "p".repeat(60_000) });
    for (let id = 1; id <= 300; id++) ring.push(event(id, "a", "x.y", pad)).frame(jsonFrame);
    ring.sweep();
    expect(ring.size).toBe(300);
    now = 5_000;
    ring.push(event(301));
    now = 10_500;
    ring.sweep();
    expect(ring.size).toBe(1);
    expect(ring.bytes).toBeLessThan(1024);
    expect(ring.covers(300)).toBe(true);
    expect(ring.covers(299)).toBe(false);
    ring.stop();
  });

  it("keeps nothing when its bound is 0", () => {
    const ring = new RecentEvents(0, 10_000);
    ring.startAt(5);
    const entry = ring.push(event(6));
    // Live delivery still shares one frame per encoding.
    expect(entry.frame(jsonFrame)).toBe(entry.frame(jsonFrame));
    expect(ring.size).toBe(0);
    expect(ring.covers(6)).toBe(false);
  });
});

describe("memory release", () => {
  it("asks for one collection once what was held has fallen from a peak to almost nothing, none under steady traffic", () => {
    let held = 0;
    let releases = 0;
    const release = new MemoryRelease(() => held, () => releases++, 60_000);
    for (const h of [1, 20, 20, 20]) {
      held = h << 20;
      release.check();
    }
    expect(releases).toBe(0);
    // Falling, but still holding a good part of it: a steady flow, or a burst not yet gone.
    held = 12 << 20;
    release.check();
    expect(releases).toBe(0);
    held = 256 << 10;
    release.check();
    expect(releases).toBe(1);
    // One follow-up a moment later, then no more.
    release.check();
    expect(releases).toBe(2);
    release.check();
    expect(releases).toBe(2);
    // The next burst starts a new peak.
    held = 40 << 20;
    release.check();
    held = 0;
    release.check();
    expect(releases).toBe(3);
    release.stop();
  });

  it("waits to release until the replays under way have finished", () => {
    let held = 0;
    let busy = true;
    let releases = 0;
    const release = new MemoryRelease(() => held, () => releases++, 60_000, () => busy);
    held = 40 << 20;
    release.check();
    held = 0;
    release.check();
    release.check();
    expect(releases).toBe(0);
    busy = false;
    release.check();
    expect(releases).toBe(1);
    release.check();
    expect(releases).toBe(2);
    release.stop();
  });
});
