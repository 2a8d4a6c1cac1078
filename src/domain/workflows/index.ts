import { Hono } from "hono";
import type { AppEnv } from "../../http/env.js";
import type { Domain, DomainContext, DomainDeps } from "../domain.js";

// Skeleton: filled in by the workflows domain's implementation.
export const workflowsDomain = (ctx: DomainContext): Domain => ({
  name: "workflows",
  topics: ["workflow"],
  types: {},
  project: () => {},
});

export function workflowsRoutes(deps: DomainDeps) {
  return new Hono<AppEnv>();
}
