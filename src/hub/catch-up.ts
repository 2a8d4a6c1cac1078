import type { StoredEvent } from "../event.js";
import type { FramesPage } from "../store/event-log.js";
import type { Hub, Selector } from "./hub.js";
import type { Subscriber } from "./subscriber.js";

/**
 * One page of history after a position, as events, or already encoded as
 * the stream's frames (the log's reader threads make those for JSON
 * streams; event i's frame ends at `ends[i]`). `through` is where the next
 * read continues.
 */
export type LogPage = { events: StoredEvent[]; through: number; prunedThrough?: number } | FramesPage;
export type ReadAfter = (after: number, limit: number) => Promise<LogPage>;

/** How many events a page holds, as events or as frames. */
export const eventsIn = (page: LogPage): number => ("frames" in page ? page.ids.length : page.events.length);

/** A replay's reads from the log; `release` drops whatever it read ahead (see read-ahead.ts). */
export interface LogReads {
  read: ReadAfter;
  release?(): void;
}

export interface CatchUpOptions {
  /**
   * Events read per page at most (pages are bounded by pageBytes first). Default 1000: a page crosses
   * from a reader thread in one message, decoded on the event loop in one go, so a large one is a stall.
   */
  pageSize?: number;
  /**
   * Bytes per page at most (a page always carries at least one event); the
   * next page waits until the socket has drained below it. Default half the
   * stream's maxBuffer, and at most 1/64 of the hub's global bound.
   */
  pageBytes?: number;
  /** A socket that does not drain for this long is a stalled client, closed as slow. Default the hub's stallMs. */
  stallMs?: number;
  /**
   * Encodes a whole page as one frame instead of each event (the selector's
   * `encodeBatch`): a console page renders its panels once per page of
   * history. Its frame is bounded by `pageSize`, so keep that small.
   */
  encodeBatch?: (events: readonly StoredEvent[]) => string | null;
  /**
   * The highest id retention has pruned of a tenant. Pages from memory skip
   * those events, so a stream never shows what the log (and its history)
   * no longer has.
   */
  prunedThrough?: (tenant: string) => number;
  /**
   * The frame that tells the client retention removed events it had not
   * read yet, and that the stream resumes after `resume` (the `reset` frame).
   * Without it, events pruned during a replay would be skipped silently.
   */
  stale?: (resume: number) => Promise<string>;
}

/**
 * Brings a registered subscriber from its cursor to the live edge, then
 * switches it to live. The subscriber was registered before the first read,
 * and it goes live only in the same synchronous step that finds it has read
 * through everything published: no event can fall between replay and live,
 * and the cursor guard in `enqueue` stops any from arriving twice.
 *
 * Each page is a step granted by the hub's replay scheduler (many replays
 * take pages in round robin, and the loop polls I/O between pages), is
 * bounded in bytes, and has its bytes reserved in the hub's queue budget
 * before it is read, so replays to sockets that do not drain cannot hold
 * more than their share of the global bound.
 *
 * Pages come from the hub's recent events while they hold everything after
 * the cursor (a stream that fell behind in a burst, a quick reconnect): the
 * frames live delivery made, shared, with nothing read or copied. Older
 * positions read from the log.
 */
export async function catchUp(
  sub: Subscriber,
  hub: Hub,
  reads: LogReads,
  selector: Pick<Selector, "tenant" | "match" | "encode">,
  options: CatchUpOptions = {},
): Promise<void> {
  const pageSize = options.pageSize ?? 1000;
  const pageBytes = Math.min(options.pageBytes ?? sub.maxBuffer / 2, sub.budget.maxBytes / PAGES_IN_BUDGET);
  const stallMs = options.stallMs ?? hub.stallMs;
  // Reads are sized from the frames seen so far, so a page of large events is not read only to be cut;
  // the first read is small, as nothing is known yet.
  // A batch encoder's frame is bounded by the page's count instead: its pages are read whole from the start.
  let limit = options.encodeBatch ? pageSize : Math.min(pageSize, FIRST_READ);
  // Bytes reserved before a read: the page bound, or more once a page with a large event has been seen.
  let need = pageBytes;
  // Retention removed events after the cursor before they were sent: the page in hand is dropped, the
  // reset frame says so, and the replay goes on from past them.
  const overtaken = (pruned: number | undefined): pruned is number => options.stale !== undefined && pruned !== undefined && pruned > sub.cursor;
  const resetPast = async (pruned: number): Promise<void> => {
    sub.unreserve();
    const frame = await options.stale!(pruned);
    if (sub.state !== "catching-up") return;
    sub.writeNow(frame);
    sub.cursor = Math.max(sub.cursor, pruned);
  };
  try {
    while (sub.state === "catching-up") {
      if (!(await sub.drained(pageBytes, stallMs))) {
        sub.close("slow");
        return;
      }
      await hub.replays.turn(sub.tenant ?? "*");
      if (sub.state !== "catching-up") return;
      // Room for the page is taken in turn too, so replays share the budget in the same round robin.
      if (!tryReserve(sub, need)) {
        await sub.budget.freed(retryMs(sub));
        continue;
      }
      if (!options.encodeBatch && hub.recent.covers(sub.cursor)) {
        // A page read ahead from the log will not be needed any more.
        reads.release?.();
        // Memory still holds events retention has pruned (its pages skip them): say so first, as below.
        const pruned = sub.tenant === null ? undefined : options.prunedThrough?.(sub.tenant);
        if (overtaken(pruned)) {
          await resetPast(pruned);
          continue;
        }
        const page = hub.recent.page(sub.cursor, selector.tenant, selector.match, selector.encode, need, pageSize, options.prunedThrough);
        if (page.bytes > need) {
          sub.unreserve();
          need = page.bytes;
          continue;
        }
        if (page.bytes > 0) {
          sub.writePage(page.frames, page.bytes);
          hub.replayPages.memory++;
        } else sub.unreserve();
        sub.cursor = Math.max(sub.cursor, page.through);
        // Synchronous from the page to here, as below: nothing can be published in between.
        if (hub.publishedHead <= sub.cursor) {
          sub.state = "live";
          return;
        }
        continue;
      }
      const page = await reads.read(sub.cursor, limit);
      // Frames the log made are given back once the socket has taken them, or at once if they are not written.
      const written = "frames" in page ? page.release : undefined;
      await hub.replays.turn(sub.tenant ?? "*");
      if (sub.state !== "catching-up") {
        written?.();
        return;
      }
      if (overtaken(page.prunedThrough)) {
        written?.();
        await resetPast(page.prunedThrough);
        continue;
      }
      const { chunks, bytes, through, cut } =
        "frames" in page
          ? cutFrames(page, pageBytes)
          : options.encodeBatch
            ? encodeBatchPage(page.events, page.through, options.encodeBatch)
            : encodePage(page.events, page.through, selector.encode, pageBytes);
      const read = eventsIn(page);
      if (bytes > need) {
        // A page passes its bound by its last event. Never wait for more room while holding some
        // (replays waiting on each other would deadlock): give it back, and read again asking for enough.
        sub.unreserve();
        written?.();
        need = bytes;
        continue;
      }
      if (bytes > 0) {
        sub.writePage(chunks, bytes, written);
        hub.replayPages.log++;
      } else {
        sub.unreserve();
        written?.();
      }
      sub.cursor = Math.max(sub.cursor, through);
      if (cut.count === 0 && read < limit && hub.publishedHead <= sub.cursor) {
        sub.state = "live";
        return;
      }
      const sent = cut.count || read;
      if (sent > 0 && !options.encodeBatch) limit = Math.max(1, Math.min(pageSize, Math.floor((pageBytes * sent) / Math.max(1, bytes))));
    }
  } finally {
    if (sub.state !== "closed") sub.unreserve();
  }
}

/**
 * Events in a replay's first read, before their size is known. Reads are
 * bounded by count only, and a page read waits for its turn to be encoded:
 * with many replays in flight, a first read of 1,000 large events each
 * would hold gigabytes of rows. Small events reach full pages on the next read.
 */
const FIRST_READ = 8;

/**
 * Pages are small next to the global bound, so that many replays fit in it
 * at once: a replay to a socket that has just stopped reading holds its page
 * until it is found stalled, and the bound must not fill with a few of them.
 */
const PAGES_IN_BUDGET = 64;

/** The share of the global bound replays may fill; the rest is headroom for live frames. */
const REPLAY_SHARE = 0.75;

/** Reserves `bytes` for a page, cutting streams that have stopped draining when the replays' share is full. */
function tryReserve(sub: Subscriber, wanted: number): boolean {
  // A page larger than the whole share (a tiny bound and a large event) still goes, when the share is free.
  const bytes = Math.min(wanted, sub.budget.maxBytes * REPLAY_SHARE);
  return sub.reserve(bytes, REPLAY_SHARE) || (sub.budget.reclaim(bytes, REPLAY_SHARE) && sub.reserve(bytes, REPLAY_SHARE));
}

/** How long to wait for room before trying again (by then a holder may be old enough to cut). */
function retryMs(sub: Subscriber): number {
  return Math.max(10, sub.budget.graceMs / 4);
}

/**
 * Bytes a page's text is cut into. Strings this small stay in V8's young
 * generation and die cheaply; one flat string per page would be a large
 * object, freed only by a full collection, and thousands of replays to
 * stalled sockets would grow the heap by gigabytes before one ran.
 */
const PIECE_CHARS = 32 * 1024;

/** A page's frames as buffers of about PIECE_CHARS each, stopping after the first frame that takes it past `maxBytes`. */
function encodePage(
  events: readonly StoredEvent[],
  pageThrough: number,
  encode: (e: StoredEvent) => string | null,
  maxBytes: number,
): { chunks: Buffer[]; bytes: number; through: number; cut: { count: number } } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let piece = "";
  const flush = () => {
    const chunk = Buffer.from(piece);
    chunks.push(chunk);
    bytes += chunk.length;
    piece = "";
  };
  for (let i = 0; i < events.length; i++) {
    piece += encode(events[i]) ?? "";
    if (piece.length >= PIECE_CHARS) flush();
    if (bytes + piece.length > maxBytes && i < events.length - 1) {
      if (piece) flush();
      return { chunks, bytes, through: events[i].id, cut: { count: i + 1 } };
    }
  }
  if (piece) flush();
  return { chunks, bytes, through: pageThrough, cut: { count: 0 } };
}

/** An encoded page as it is, or cut after the first frame that takes it past `maxBytes` (as encodePage cuts). */
function cutFrames(
  page: FramesPage,
  maxBytes: number,
): { chunks: Buffer[]; bytes: number; through: number; cut: { count: number } } {
  const { frames, ends, ids } = page;
  const last = ids.length - 1;
  let i = 0;
  while (i < last && ends[i] <= maxBytes) i++;
  if (i < last) return { chunks: [frames.subarray(0, ends[i])], bytes: ends[i], through: ids[i], cut: { count: i + 1 } };
  return { chunks: frames.length > 0 ? [frames] : [], bytes: frames.length, through: page.through, cut: { count: 0 } };
}

/** A page as the one frame of a batch encoder (never cut: its size is bounded by the page's event count). */
function encodeBatchPage(
  events: readonly StoredEvent[],
  pageThrough: number,
  encodeBatch: (events: readonly StoredEvent[]) => string | null,
): { chunks: Buffer[]; bytes: number; through: number; cut: { count: number } } {
  const text = events.length > 0 ? encodeBatch(events) : null;
  const chunks = text ? [Buffer.from(text)] : [];
  return { chunks, bytes: chunks[0]?.length ?? 0, through: pageThrough, cut: { count: 0 } };
}
