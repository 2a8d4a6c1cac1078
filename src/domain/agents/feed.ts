import type { FeedTopic } from "../../console/feed-topic.js";
import { findAgent } from "./queries.js";

/** Agents in the feed: by the name they report. */
export const agentsFeed: FeedTopic = {
  topic: "agent",
  label: (db, tenant, agentId) => findAgent(db, tenant, agentId)?.name ?? null,
};
