import type { Domain } from "../domain.js";
import { chatTypes } from "./events.js";
import { chatProjection } from "./projection.js";

export { chatRoutes } from "./routes.js";

/**
 * Chat sessions: a user's message goes to the session's agent as a command
 * (chat.message); the agent streams its answer back (chat.delta, then
 * chat.completed or chat.error) and reports the tools it runs (tool.*).
 * Nothing here expires: a message waits on the agent's resumable command
 * stream until the agent reads it.
 */
export const chatDomain: Domain = {
  name: "chat",
  topics: chatProjection.topics,
  types: chatTypes,
};
