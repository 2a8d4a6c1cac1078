import type { Domain } from "../domain.js";
import { agentTypes } from "./events.js";
import { agentsProjection } from "./projection.js";

export { agentsRoutes } from "./routes.js";
export { Presence } from "./presence.js";
export { connectedAgents, findAgent } from "./queries.js";

export const agentsDomain: Domain = {
  name: "agents",
  topics: agentsProjection.topics,
  types: agentTypes,
};
