import { Hono } from "hono";
import type { AppEnv } from "../../http/env.js";
import type { Domain, DomainContext, DomainDeps } from "../domain.js";

// Skeleton: filled in by the channels domain's implementation.
export const channelsDomain = (ctx: DomainContext): Domain => ({
  name: "channels",
  topics: ["channel", "activity"],
  types: {},
  project: () => {},
});

export function channelsRoutes(deps: DomainDeps) {
  return new Hono<AppEnv>();
}
