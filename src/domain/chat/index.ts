import type { Domain, DomainContext } from "../domain.js";
import { chatTypes } from "./events.js";
import { MessageExpiry } from "./expiry.js";
import { chatProjection } from "./projection.js";

export { chatRoutes } from "./routes.js";

/**
 * Chat sessions: a user message goes to the session's agent as a command
 * (chat.message); the agent streams its answer back (chat.delta, then
 * chat.completed or chat.error) and reports the tools it runs (tool.*).
 * A message waits on the agent's resumable command stream until the agent
 * reads it; one still unanswered after COMMAND_TIMEOUT_MS is marked expired.
 */
export const chatDomain = (ctx: DomainContext): Domain => {
  const expiry = new MessageExpiry(ctx);
  return {
    name: "chat",
    topics: chatProjection.topics,
    types: chatTypes,
    onCommit: (e) => expiry.onCommit(e),
    start: () => expiry.start(),
    stop: () => expiry.stop(),
  };
};
