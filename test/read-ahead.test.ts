import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../src/event.js";
import type { LogPage } from "../src/hub/catch-up.js";
import { readAhead, ReadAheadSlots } from "../src/hub/read-ahead.js";

const event = (id: number): StoredEvent => ({ id, tenant: "a", type: "t.x", subject: null, data: "{}", key: null, ts: 0 });

/**
 * A log of `ids` (ascending) read a page at a time, answering each read
 * when the test says so: what reads were asked for, in order, and which
 * are still in flight.
 */
function log(ids: number[]) {
  const asked: number[] = [];
  const waiting = new Map<number, () => void>();
  const read = (after: number, limit: number): Promise<LogPage> => {
    asked.push(after);
    const events = ids.filter((id) => id > after).slice(0, limit).map(event);
    const through = events.length === limit ? events[events.length - 1].id : ids[ids.length - 1];
    return new Promise((resolve) => waiting.set(after, () => resolve({ events, through })));
  };
  const answer = (after: number) => {
    const done = waiting.get(after);
    if (!done) throw new Error(`no read after ${after} in flight (in flight: ${[...waiting.keys()].join(", ")})`);
    waiting.delete(after);
    done();
  };
  return { read, asked, waiting, answer };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A replay over a log of `ids`, published through `head`, with `free` read-ahead slots server-wide. */
function replay(ids: number[], head: number, free = 4, keepingUp = true) {
  const l = log(ids);
  const slots = new ReadAheadSlots(free);
  const reads = readAhead(l.read, slots, () => keepingUp, () => head);
  /** Reads the page after `after`, asked for now and answered at once. */
  const next = (after: number): Promise<LogPage> => {
    const page = reads.read(after, 10);
    l.answer(after);
    return page;
  };
  return { l, slots, reads, next };
}

describe("readAhead", () => {
  it("reads the next page and, where pages are dense, the one after it too, at once", async () => {
    const { l, slots, reads, next } = replay(range(1, 100), 100);
    expect((await next(0)).through).toBe(10);
    // The first page was full and spanned exactly its ten ids: the next two are in flight together.
    expect(l.asked).toEqual([0, 10, 20]);
    expect(slots.free).toBe(2);

    expect((await next(10)).through).toBe(20);
    // The page started at 20 is kept (the second ended there), and one more is started behind it.
    expect(l.asked).toEqual([0, 10, 20, 30]);
    l.answer(20);
    const third = await reads.read(20, 10);
    expect(third.through).toBe(30);
    expect(l.asked).toEqual([0, 10, 20, 30, 40]);
    reads.release();
    expect(slots.free).toBe(4);
  });

  it("drops a page started where the one before was expected to end, when it ended elsewhere", async () => {
    // Ids 1-20, then a gap to 31: the page after 20 holds 31-40 and ends at 40, not at 30, where the next one was started.
    const { l, slots, reads, next } = replay([...range(1, 20), ...range(31, 60)], 60);
    await next(0);
    expect(l.asked).toEqual([0, 10, 20]);
    await next(10);
    l.answer(20);
    // The page after 20 ends at 40, not at 30, where the fourth was started: that one is dropped, and 40's read instead.
    const third = reads.read(20, 10);
    expect((await third).through).toBe(40);
    expect(l.asked.slice(-2)).toEqual([30, 40]);
    expect(l.waiting.has(30)).toBe(true);
    l.answer(30);
    l.answer(40);
    const fourth = await reads.read(40, 10);
    expect("events" in fourth && fourth.events.map((e) => e.id)).toEqual(range(41, 50));
    reads.release();
    expect(slots.free).toBe(4);
  });

  it("reads one page ahead where pages are not dense, and none past what is published", async () => {
    const { l, slots, reads, next } = replay(range(1, 40).filter((id) => id % 2 === 0), 40);
    expect((await next(0)).through).toBe(20);
    expect(l.asked).toEqual([0, 20]);
    l.answer(20);
    expect((await reads.read(20, 10)).through).toBe(40);
    // Through what is published: nothing more to read ahead.
    expect(l.asked).toEqual([0, 20]);
    expect(slots.free).toBe(4);
  });

  it("leaves a free slot for another replay's first page rather than take it for a second", async () => {
    const { l, slots, reads, next } = replay(range(1, 100), 100, 2);
    await next(0);
    expect(l.asked).toEqual([0, 10]);
    expect(slots.free).toBe(1);
    reads.release();
    expect(slots.free).toBe(2);
  });

  it("starts nothing once let go of while a read was under way (the stream closed meanwhile)", async () => {
    const { l, slots, reads } = replay(range(1, 100), 100);
    const first = reads.read(0, 10);
    reads.release();
    l.answer(0);
    await first;
    expect(l.asked).toEqual([0]);
    expect(slots.free).toBe(4);
  });

  it("reads nothing ahead for a client that does not keep up", async () => {
    const { l, slots, next } = replay(range(1, 100), 100, 4, false);
    await next(0);
    expect(l.asked).toEqual([0]);
    expect(slots.free).toBe(4);
  });
});
