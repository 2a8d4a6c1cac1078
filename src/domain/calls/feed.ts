import type { FeedTopic } from "../../console/feed-topic.js";
import { findCall } from "./queries.js";

/** Calls in the feed: by their masked number, which a person recognises, rather than the provider's call id. */
export const callsFeed: FeedTopic = {
  topic: "call",
  label: (db, tenant, callId) => findCall(db, tenant, callId)?.number ?? null,
};
