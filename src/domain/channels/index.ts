import type { Domain, DomainContext } from "../domain.js";
import { ConnectTimeouts } from "./connect-timeout.js";
import { channelTypes } from "./events.js";
import { channelsProjection } from "./projection.js";

export { channelsRoutes } from "./routes.js";

/** The omnichannel hub: channels that connect in steps, and the activity feed (the log's activity.* events). */
export const channelsDomain = (ctx: DomainContext): Domain => {
  const timeouts = new ConnectTimeouts(ctx);
  return {
    name: "channels",
    topics: channelsProjection.topics,
    types: channelTypes,
    onCommit: (e) => timeouts.onCommit(e),
    start: () => timeouts.start(),
    stop: () => timeouts.stop(),
  };
};
