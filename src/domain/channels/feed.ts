import type { FeedTopic } from "../../console/feed-topic.js";
import { findChannel } from "./queries.js";

/** Channels in the feed: by their name; connection steps fold into the channel's "Connecting…" item. */
export const channelsFeed: FeedTopic = {
  topic: "channel",
  ticks: ["channel.progress"],
  folded: ["channel.connect_requested"],
  label: (db, tenant, channelId) => findChannel(db, tenant, channelId)?.name ?? null,
};
