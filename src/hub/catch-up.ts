import type { StoredEvent } from "../event.js";
import type { Hub } from "./hub.js";
import type { Subscriber } from "./subscriber.js";

/** One page of history after a position; `through` is where the next read continues. */
export type ReadAfter = (after: number, limit: number) => Promise<{ events: StoredEvent[]; through: number }>;

export interface CatchUpOptions {
  pageSize?: number;
  /** Bytes written per step at most; the next step waits until the socket has drained below it. */
  highWater?: number;
  /** A socket that does not drain for this long is a stalled client, closed as slow. */
  stallMs?: number;
  /**
   * Encodes a whole page as one frame instead of each event (the selector's
   * `encodeBatch`): a console page renders its panels once per page of
   * history. Its frame is bounded by `pageSize`, so keep that small.
   */
  encodeBatch?: (events: readonly StoredEvent[]) => string | null;
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
  const stallMs = options.stallMs ?? 30_000;
  while (sub.state === "catching-up") {
    const page = await read(sub.cursor, pageSize);
    if (sub.state !== "catching-up") return;
    let text = "";
    let through = page.through;
    let cut = false;
    if (options.encodeBatch) {
      if (page.events.length > 0) text = options.encodeBatch(page.events) ?? "";
    } else for (const e of page.events) {
      text += encode(e) ?? "";
      // Bound what one step buffers (large events): continue after this one next time.
      if (text.length > highWater) {
        through = e.id;
        cut = true;
        break;
      }
    }
    if (text) sub.writeNow(text);
    sub.cursor = Math.max(sub.cursor, through);
    if (!cut && page.events.length < pageSize && hub.publishedHead <= sub.cursor) {
      sub.state = "live";
      return;
    }
    if (!(await sub.drained(highWater, stallMs))) {
      sub.close("slow");
      return;
    }
  }
}
