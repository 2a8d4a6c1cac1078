import type { LogPage, ReadAfter } from "./catch-up.js";

/**
 * How many replays may hold a page read ahead at once, server-wide. A page
 * read ahead is memory outside the queued-output budget; a few are enough to
 * keep the reader threads busy, and a thousand replays to clients that have
 * just stopped reading must not each hold one.
 */
export class ReadAheadSlots {
  #free: number;

  constructor(slots = 4) {
    this.#free = slots;
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

/** A replay's reads with read-ahead; `release` drops a page read ahead (the stream closed). */
export interface ReadAheadReads {
  read: ReadAfter;
  release(): void;
}

/**
 * Wraps a replay's reads so that, while its client keeps up, the next page is
 * read while the current one is encoded and sent: the log's reader threads
 * and the event loop work side by side instead of taking turns. One page at
 * most is read ahead, only for a client whose socket takes what it is sent
 * (`keepingUp`), and only while a slot is free.
 */
export function readAhead(read: ReadAfter, slots: ReadAheadSlots, keepingUp: () => boolean, publishedHead: () => number): ReadAheadReads {
  let ahead: { after: number; page: Promise<LogPage> } | null = null;
  /** Gives the slot back; a page read ahead that will not be used gives back its frames too. */
  const release = (used = false) => {
    if (ahead === null) return;
    if (!used) ahead.page.then((p) => "frames" in p && p.release(), () => {});
    ahead = null;
    slots.give();
  };
  return {
    release: () => release(),
    read: async (after, limit) => {
      const next = ahead?.after === after ? ahead.page : null;
      release(next !== null);
      const page = await (next ?? read(after, limit));
      // A page that stops short of what is published means more to read.
      if (ahead === null && page.through < publishedHead() && keepingUp() && slots.take()) {
        const following = read(page.through, limit);
        // A page read ahead may never be used (the client goes away): its failure must not go unhandled.
        following.catch(() => {});
        ahead = { after: page.through, page: following };
      }
      return page;
    },
  };
}
