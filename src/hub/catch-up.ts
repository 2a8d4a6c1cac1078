import type { StoredEvent } from "../event.js";
import type { Hub } from "./hub.js";
import type { Subscriber } from "./subscriber.js";

/** One page of history after a position; `through` is where the next read continues. */
export type ReadAfter = (after: number, limit: number) => Promise<{ events: StoredEvent[]; through: number }>;

export interface CatchUpOptions {
  pageSize?: number;
  /** Wait for the socket to drain past this many buffered bytes before the next page. */
  highWater?: number;
}

/**
 * Brings a registered subscriber from its cursor to the live edge, then
 * switches it to live. The subscriber was registered before the first read,
 * and it goes live only in the same synchronous step that finds it has read
 * through everything published: no event can fall between replay and live,
 * and the cursor guard in `enqueue` stops any from arriving twice.
 */
export async function catchUp(
  sub: Subscriber,
  hub: Hub,
  read: ReadAfter,
  encode: (e: StoredEvent) => string | null,
  options: CatchUpOptions = {},
): Promise<void> {
  const pageSize = options.pageSize ?? 1000;
  const highWater = options.highWater ?? sub.maxBuffer / 2;
  while (sub.state === "catching-up") {
    const page = await read(sub.cursor, pageSize);
    if (sub.state !== "catching-up") return;
    let text = "";
    for (const e of page.events) text += encode(e) ?? "";
    if (text) sub.writeNow(text);
    sub.cursor = Math.max(sub.cursor, page.through);
    if (page.events.length < pageSize && hub.publishedHead <= sub.cursor) {
      sub.state = "live";
      return;
    }
    await sub.drained(highWater);
  }
}
