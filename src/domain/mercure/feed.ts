import type { FeedContext, FeedFilter } from "../../console/feed.js";
import type { FeedTopic } from "../../console/feed-topic.js";
import type { StoredEvent } from "../../event.js";
import { updateOf } from "../../mercure/update.js";
import type { ApiKey } from "../../store/keys.js";

/** How much of an update's data an item shows: enough to tell updates apart, never a whole document. */
export const SHOWN_CHARS = 300;
export const SHOWN_LINES = 6;

/** The start of an update's data as the feed shows it, and how many characters it leaves out. */
export function shownData(data: string): { text: string; cut: number } {
  let end = Math.min(data.length, SHOWN_CHARS);
  for (let i = 0, lines = 1; i < end; i++) {
    if (data[i] === "\n" && ++lines > SHOWN_LINES) end = i;
  }
  // Never half of a surrogate pair.
  if (end < data.length && /[\uD800-\uDBFF]/.test(data[end - 1] ?? "")) end--;
  return { text: data.slice(0, end), cut: data.length - end };
}

/**
 * Whether a console viewer sees the data of private updates: exactly where
 * the hub would deliver them to the viewer's key. A session is an API key's,
 * and on the hub a key with the read scope receives every private update of
 * its tenant (src/mercure/client.ts), as the events API gives it their data
 * too. Console sign-in takes that scope already; this keeps the page right
 * whatever a session's key turns out to hold.
 */
export const readsPrivateUpdates = (key: ApiKey): boolean => key.scopes.has("read");

/** The Mercure page's feed: every update, newest first, each with its id, topics, type and data (see `payload`). */
export const updatesFeed = (privateData: boolean): FeedFilter => ({ platform: null, topic: "mercure", every: true, payloads: true, privateData });

/** One update as its feed item shows it (#feed-items li .mercure-update); a private one's data only where the feed allows it. */
function renderUpdate(ctx: FeedContext, f: FeedFilter, e: StoredEvent): string {
  const update = updateOf(e)!;
  const isPrivate = update.private === true;
  const hidden = isPrivate && !f.privateData;
  return ctx.views.render("partials/mercure-update", {
    id: e.subject,
    topics: update.topics,
    type: update.type ?? null,
    retry: update.retry ?? null,
    isPrivate,
    hidden,
    data: hidden ? null : shownData(update.data ?? ""),
  });
}

/** Mercure updates in the feed: a line naming the topic everywhere (helpers.summary), the update itself where items show their data. */
export const mercureFeed: FeedTopic = {
  topic: "mercure",
  payload: renderUpdate,
};
