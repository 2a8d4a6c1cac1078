import type { ReadAfter } from "./catch-up.js";

type Page = Awaited<ReturnType<ReadAfter>>;

/**
 * Wraps a replay's reads so that, while its client keeps up, the next page is
 * read while the current one is encoded and sent: the log's reader threads
 * and the event loop work side by side instead of taking turns. Only one page
 * is ever read ahead, and only for a client whose socket is taking what it is
 * sent (`keepingUp`), so a stalled client never holds more than its own page.
 */
export function readAhead(read: ReadAfter, keepingUp: () => boolean, publishedHead: () => number): ReadAfter {
  let ahead: { after: number; page: Promise<Page> } | null = null;
  return async (after, limit) => {
    const page = await (ahead?.after === after ? ahead.page : read(after, limit));
    ahead = null;
    // A page that stops short of what is published means more to read.
    if (page.through < publishedHead() && keepingUp()) {
      const next = read(page.through, limit);
      // Read ahead may never be used (the client goes away): its failure must not go unhandled.
      next.catch(() => {});
      ahead = { after: page.through, page: next };
    }
    return page;
  };
}
