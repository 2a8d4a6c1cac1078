import type { Domain, DomainContext } from "../domain.js";
import { topicOf } from "../registry.js";
import { chatTypes } from "./events.js";
import { projectChat } from "./projection.js";
import { projectTool } from "./tool-projection.js";

export { chatRoutes } from "./routes.js";

/**
 * Chat sessions: a user's message goes to the session's agent as a command
 * (chat.message); the agent streams its answer back (chat.delta, then
 * chat.completed or chat.error) and reports the tools it runs (tool.*).
 * Nothing here expires: a message waits on the agent's resumable command
 * stream until the agent reads it.
 */
export const chatDomain = ({ db }: DomainContext): Domain => ({
  name: "chat",
  topics: ["chat", "tool"],
  types: chatTypes,
  project: (e, data) => (topicOf(e.type) === "tool" ? projectTool(db, e, data) : projectChat(db, e, data)),
});
