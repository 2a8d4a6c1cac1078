import { Hono } from "hono";
import { feedTopics } from "../console/feed-topic.js";
import type { Panel } from "../console/panels.js";
import { agentsFeed } from "./agents/feed.js";
import { callsFeed } from "./calls/feed.js";
import { channelsFeed } from "./channels/feed.js";
import { chatFeed, toolsFeed } from "./chat/feed.js";
import { workflowsFeed } from "./workflows/feed.js";
import type { AppEnv } from "../http/env.js";
import { agentsDomain, agentsRoutes } from "./agents/index.js";
import { callsDomain, callsRoutes } from "./calls/index.js";
import { callsPanel } from "./calls/fragments.js";
import { channelsDomain, channelsRoutes } from "./channels/index.js";
import { chatDomain, chatRoutes } from "./chat/index.js";
import type { DomainContext, DomainDeps } from "./domain.js";
import { workerEventTypes } from "./projections.js";
import { Domains } from "./registry.js";
import { agentsConsoleRoutes } from "./agents/console-routes.js";
import { channelsConsoleRoutes } from "./channels/console-routes.js";
import { chatConsoleRoutes } from "./chat/console-routes.js";
import { workflowsConsoleRoutes } from "./workflows/console-routes.js";
import { workflowsDomain, workflowsRoutes } from "./workflows/index.js";
import { workflowsListPage } from "./workflows/list-panel.js";
import { channelsListPage } from "./channels/fragments.js";
import { agentsListPage } from "./agents/fragments.js";
import { sessionsPanel } from "./chat/fragments.js";

/** Every domain Switchboard knows; each reserves its topics. */
export function createDomains(ctx: DomainContext): Domains {
  return new Domains([callsDomain, agentsDomain, channelsDomain(ctx), workflowsDomain(ctx), chatDomain(ctx)], workerEventTypes);
}

/** Every domain's routes: state, detail, commands, webhooks. */
export function domainRoutes(deps: DomainDeps) {
  const app = new Hono<AppEnv>();
  app.route("/", callsRoutes(deps));
  app.route("/", agentsRoutes(deps));
  app.route("/", channelsRoutes(deps));
  app.route("/", workflowsRoutes(deps));
  app.route("/", chatRoutes(deps));
  return app;
}

/**
 * The tenant console's live panels, in page order (the activity feed sits
 * beside them). Workflows, channels and agents have their own list pages
 * (registered with their domain's console routes).
 */
export const consolePanels: Panel[] = [callsPanel, sessionsPanel];

/** How each domain's events read in the console's activity feed. */
export const consoleFeed = feedTopics([callsFeed, agentsFeed, channelsFeed, workflowsFeed, chatFeed, toolsFeed]);

/** Each domain's console pages and control forms, and the list pages of workflows, channels and agents. */
export const domainConsoles = [
  agentsConsoleRoutes,
  channelsConsoleRoutes,
  workflowsConsoleRoutes,
  chatConsoleRoutes,
  workflowsListPage,
  channelsListPage,
  agentsListPage,
];
