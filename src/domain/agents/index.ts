import type { Domain, DomainContext } from "../domain.js";
import { agentTypes } from "./events.js";
import { projectAgent } from "./projection.js";

export { agentsRoutes } from "./routes.js";
export { Presence } from "./presence.js";
export { connectedAgents } from "./queries.js";

export const agentsDomain = ({ db }: DomainContext): Domain => ({
  name: "agents",
  topics: ["agent"],
  types: agentTypes,
  project: (e, data) => projectAgent(db, e, data),
});
