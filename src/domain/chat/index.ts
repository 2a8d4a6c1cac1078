import { Hono } from "hono";
import type { AppEnv } from "../../http/env.js";
import type { Domain, DomainContext, DomainDeps } from "../domain.js";

// Skeleton: filled in by the chat domain's implementation.
export const chatDomain = (ctx: DomainContext): Domain => ({
  name: "chat",
  topics: ["chat", "tool"],
  types: {},
  project: () => {},
});

export function chatRoutes(deps: DomainDeps) {
  return new Hono<AppEnv>();
}
