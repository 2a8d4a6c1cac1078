import { eventsIn, type LogPage, type ReadAfter } from "./catch-up.js";

/**
 * How many pages replays may hold read ahead at once, server-wide. A page
 * read ahead is memory outside the queued-output budget; a few are enough to
 * keep the reader threads busy, and a thousand replays to clients that have
 * just stopped reading must not each hold one.
 */
export class ReadAheadSlots {
  #free: number;

  constructor(slots = 4) {
    this.#free = slots;
  }

  get free(): number {
    return this.#free;
  }

  take(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  give(): void {
    this.#free++;
  }
}

/** A replay's reads with read-ahead; `release` drops the pages read ahead (the stream closed). */
export interface ReadAheadReads {
  read: ReadAfter;
  release(): void;
}

/** Pages one replay may have in flight ahead of the one it sends, where pages are dense: one per reader thread. */
const DEPTH = 2;

/**
 * Wraps a replay's reads so that, while its client keeps up, the next page is
 * read while the current one is encoded and sent: the log's reader threads
 * and the event loop work side by side instead of taking turns. Pages are
 * read ahead only for a client whose socket takes what it is sent
 * (`keepingUp`), and only while slots are free.
 *
 * Where the next page's start is known (the current one's end), one page is
 * read ahead. Where the log's pages are dense (a full page of n events
 * spanned exactly n ids, as for a tenant alone on its log), a second is
 * started at once, at the id the first is expected to end at, so both
 * reader threads work on one replay: it is kept when the first does end
 * there, and dropped otherwise. One page at a time was what bounded a single
 * replay of a million events: its reads waited 5.0 s of 5.4 on one reader
 * thread, each reader 30% busy (bench/README). A speculative page takes a
 * slot only while another stays free for someone else's first.
 */
export function readAhead(read: ReadAfter, slots: ReadAheadSlots, keepingUp: () => boolean, publishedHead: () => number): ReadAheadReads {
  /** Pages in flight, in order, with the count each was asked for; each starts where the one before it ends, or is expected to. */
  const ahead: { after: number; limit: number; page: Promise<LogPage> }[] = [];
  /** Drops every page in flight: their slots back, and the frames of those read, unused. */
  const drop = () => {
    for (const a of ahead.splice(0)) {
      a.page.then((p) => "frames" in p && p.release(), () => {});
      slots.give();
    }
  };
  /** Times the replay let go of its reads: a read under way when it did must not start new ones once back. */
  let released = 0;
  const start = (after: number, limit: number) => {
    const page = read(after, limit);
    // A page read ahead may never be used (the client goes away): its failure must not go unhandled.
    page.catch(() => {});
    ahead.push({ after, limit, page });
  };
  return {
    release: () => {
      released++;
      drop();
    },
    read: async (after, limit) => {
      let next: Promise<LogPage>;
      // A page read ahead was asked for with the count of its time (a replay's first pages are smaller).
      let asked = limit;
      if (ahead[0]?.after === after) {
        const first = ahead.shift()!;
        slots.give();
        next = first.page;
        asked = first.limit;
      } else {
        drop();
        next = read(after, limit);
      }
      const since = released;
      const page = await next;
      // Let go of meanwhile (the stream closed, or reads from memory instead): nothing more is read ahead.
      if (released !== since) return page;
      // The page after this one was started where this one was expected to end: kept only if it did.
      if (ahead.length > 0 && ahead[0].after !== page.through) drop();
      const count = eventsIn(page);
      const dense = count === asked && page.through - after === count;
      const head = publishedHead();
      while (ahead.length < (dense ? DEPTH : 1) && keepingUp()) {
        const last = ahead[ahead.length - 1];
        const from = last === undefined ? page.through : last.after + last.limit;
        // A page that stops short of what is published means more to read.
        if (from >= head) break;
        if (ahead.length > 0 && slots.free < 2) break;
        if (!slots.take()) break;
        start(from, limit);
      }
      return page;
    },
  };
}
