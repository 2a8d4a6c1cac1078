import type { FeedTopic } from "../../console/feed-topic.js";
import { findChannel } from "./queries.js";

/** A connection's steps report progress on its "Connecting…" item. */
export const CHANNEL_TICKS = ["channel.progress"] as const;

/** Channels in the feed: by their name; connection steps fold into the channel's item. */
export const channelsFeed: FeedTopic = {
  topic: "channel",
  ticks: CHANNEL_TICKS,
  label: (db, tenant, channelId) => findChannel(db, tenant, channelId)?.name ?? null,
};
