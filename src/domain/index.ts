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
import { mercureDomain } from "../mercure/update.js";
import { agentsConsoleRoutes } from "./agents/console-routes.js";
import { channelsConsoleRoutes } from "./channels/console-routes.js";
import { chatConsoleRoutes } from "./chat/console-routes.js";
import { workflowsConsoleRoutes } from "./workflows/console-routes.js";
import { workflowsDomain, workflowsRoutes } from "./workflows/index.js";
import { overviewPanels } from "../console/overview.js";
import { callsOverview } from "./calls/overview.js";
import { workflowsOverview } from "./workflows/overview.js";
import { chatOverview } from "./chat/overview.js";
import { channelsOverview } from "./channels/overview.js";
import { agentsOverview } from "./agents/overview.js";
import { callsConsoleRoutes } from "./calls/console-routes.js";
import { workflowsListPage } from "./workflows/list-panel.js";
import { channelsListPage } from "./channels/fragments.js";
import { agentsListPage } from "./agents/fragments.js";
import { mercureFeed } from "./mercure/feed.js";
import { mercureConsoleRoutes } from "./mercure/console-routes.js";

/** Every domain Switchboard knows; each reserves its topics. */
export function createDomains(ctx: DomainContext): Domains {
  return new Domains([callsDomain, agentsDomain, channelsDomain(ctx), workflowsDomain(ctx), chatDomain(ctx), mercureDomain], workerEventTypes);
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

/** The tenant overview's count tiles and "needs attention" list, each domain's part in tile order. */
export const overview: Panel[] = overviewPanels([callsOverview, workflowsOverview, chatOverview, channelsOverview, agentsOverview]);

/**
 * The tenant console's live panels: the overview (the activity feed sits
 * beside it). Every domain's full list has a page of its own
 * (/t/:tenant/calls, …/workflows, …/sessions, …/channels, …/agents).
 */
export const consolePanels: Panel[] = [...overview];

/** The admin's all-tenants view: the panels that render across tenants. */
export const adminPanels: Panel[] = [callsPanel];

/** How each domain's events read in the console's activity feed. */
export const consoleFeed = feedTopics([callsFeed, agentsFeed, channelsFeed, workflowsFeed, chatFeed, toolsFeed, mercureFeed]);

/** Each domain's console pages and control forms, the list pages of workflows, channels and agents, and the Mercure page. */
export const domainConsoles = [
  callsConsoleRoutes,
  agentsConsoleRoutes,
  channelsConsoleRoutes,
  workflowsConsoleRoutes,
  chatConsoleRoutes,
  workflowsListPage,
  channelsListPage,
  agentsListPage,
  mercureConsoleRoutes,
];
