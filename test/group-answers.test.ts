import { expect, it } from "vitest";
import type { NewEvent } from "../src/event.js";
import { openSqliteLog } from "./support/sqlite-log.js";

const events = (n: number, type: string): NewEvent[] => Array.from({ length: n }, () => ({ type, subject: null, data: "{}", key: null, fingerprint: null }));

/**
 * A commit group's events reach the listeners in slices, a turn of the loop
 * apart when the loop is busy. A request is answered once its own events
 * have been published, not once the whole group has: a single event that
 * shares a group with a large batch is not held behind the batch's fan-out.
 */
it("answers a request once its own events are published, before the rest of its group", async () => {
  const own = await openSqliteLog(["solo", "bulk"]);
  try {
    let delivered = 0;
    own.log.onCommit((committed) => {
      delivered += committed.length;
    });
    // Sent in one turn, so the writer has both for one group: the single event first, then 1,999.
    const single = own.log.append("solo", events(1, "solo.one")).then((r) => ({ ...r, deliveredThen: delivered }));
    const batch = own.log.append("bulk", events(1_999, "bulk.many"));
    const [one, many] = await Promise.all([single, batch]);
    // One group: consecutive ids.
    expect(many.ids[0]).toBe(one.ids[0] + 1);
    // Its event had gone out, and the batch's had not all gone yet.
    expect(one.deliveredThen).toBeGreaterThanOrEqual(1);
    expect(one.deliveredThen).toBeLessThan(2_000);
    expect(delivered).toBe(2_000);
  } finally {
    await own.dispose();
  }
});
