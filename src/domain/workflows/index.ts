import type { Domain, DomainContext } from "../domain.js";
import { workflowTypes } from "./events.js";
import { ControlExpiry } from "./expiry.js";
import { workflowsProjection } from "./projection.js";

export { workflowsRoutes } from "./routes.js";

export const workflowsDomain = (ctx: DomainContext): Domain => {
  const expiry = new ControlExpiry(ctx);
  return {
    name: "workflows",
    topics: workflowsProjection.topics,
    types: workflowTypes,
    onCommit: (e) => expiry.onCommit(e),
    start: () => expiry.start(),
    stop: () => expiry.stop(),
  };
};
