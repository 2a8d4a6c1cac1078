import type Database from "better-sqlite3";
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Registry } from "prom-client";
import type { Config } from "./config.js";
import type { Presence } from "./domain/agents/index.js";
import { assetRoutes } from "./console/assets.js";
import { errorPage, wantsPage } from "./console/error-page.js";
import { LoginThrottle } from "./console/login-throttle.js";
import { consoleRoutes } from "./console/routes.js";
import { Sessions } from "./console/session.js";
import { SharedRenders } from "./console/shared-renders.js";
import { Views } from "./console/views.js";
import { adminPanels, consoleFeed, consolePanels, domainConsoles, domainRoutes } from "./domain/index.js";
import type { Domains } from "./domain/registry.js";
import type { Hub } from "./hub/hub.js";
import type { Logger } from "./logger.js";
import type { AccessWatch } from "./http/access-watch.js";
import { admission } from "./http/admission.js";
import type { AppEnv } from "./http/env.js";
import { errorHandler } from "./http/errors.js";
import { eventsRoutes } from "./http/events-routes.js";
import { opsRoutes } from "./http/ops-routes.js";
import { RateLimiter, RetryAfterHold, type PublishLimiter } from "./http/rate-limit.js";
import { streamRoutes } from "./http/stream-routes.js";
import type { MercureConfig } from "./mercure/client.js";
import { withEnvironment } from "./mercure/environment.js";
import { MercureSettingsStore } from "./store/mercure-settings.js";
import { AddressCaps } from "./mercure/address-caps.js";
import { discoveryLink, mercureRoutes } from "./mercure/routes.js";
import type { Db } from "./store/db.js";
import type { EventLog } from "./store/event-log.js";
import type { KeyStore } from "./store/keys.js";
import type { TenantStore } from "./store/tenants.js";

export interface AppDeps {
  config: Config;
  db: Db;
  sqlite: Database.Database;
  log: EventLog;
  hub: Hub;
  keys: KeyStore;
  tenants: TenantStore;
  metrics: Registry;
  logger: Logger;
  domains: Domains;
  presence: Presence;
  views: Views;
  sessions: Sessions;
  access: AccessWatch;
  /** On a cluster: whether this node reaches PostgreSQL (/healthz). */
  ready?: () => boolean;
  /** On a cluster: the allowances every node shares (SharedRateLimiter); a single host keeps its own. */
  limiter?: PublishLimiter;
  /** On a cluster: this node's id (StreamCensus), which the subscriptions it holds are marked with. */
  node?: string;
}

/** Builds the HTTP application from its dependencies; never listens (see server.ts). */
export function createApp(deps: AppDeps) {
  const { config } = deps;
  const limits = {
    maxBodyBytes: config.MAX_BODY_BYTES,
    maxEventBytes: config.MAX_EVENT_BYTES,
    maxBatchEvents: config.MAX_BATCH_EVENTS,
    maxBatchBytes: config.MAX_BATCH_BYTES,
    maxJsonDepth: config.MAX_JSON_DEPTH,
    checkData: deps.domains.normalize,
    turn: deps.hub.turn,
  };
  // One allowance per API key across every publishing route: events, commands and console forms.
  const limiter = new RetryAfterHold(deps.limiter ?? new RateLimiter({ ratePerSec: config.PUBLISH_RATE_PER_KEY, burst: config.PUBLISH_BURST_PER_KEY }));
  const streamDeps = { ...deps, retryMs: config.SSE_RETRY_MS };
  // Read on every request that needs them: the CLI may change them while the server runs.
  const mercureSettings = new MercureSettingsStore(deps.db);
  const mercure: MercureConfig = { settings: (tenant) => withEnvironment(mercureSettings.get(tenant), config) };
  const app = new Hono<AppEnv>();
  // A browser loading a console page gets errors as pages in the console's layout; API clients get JSON.
  const page = (c: Context, status: ContentfulStatusCode, message: string, headers?: Record<string, string>) =>
    wantsPage(c) ? errorPage(c, deps, status, message, headers) : null;
  app.onError(errorHandler(deps.logger, page));
  app.notFound((c) => page(c, 404, `There is no page at ${c.req.path}.`) ?? c.json({ error: "not_found", message: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.route("/", opsRoutes(deps));
  app.use(admission(deps.hub.turn));
  app.use("/api/v1/tenants/:tenant/*", discoveryLink());
  app.route(
    "/",
    eventsRoutes({ ...deps, limits, limiter, isCommand: (type) => deps.domains.isCommand(type),
      needsControl: (type) => deps.domains.needsControl(type),
      isWorkerEvent: (type) => deps.domains.isWorkerEvent(type) }),
  );
  app.route("/", streamRoutes(streamDeps));
  app.route(
    "/",
    mercureRoutes({
      ...streamDeps,
      limiter,
      maxBodyBytes: config.MAX_BODY_BYTES,
      maxEventBytes: config.MAX_EVENT_BYTES,
      checkData: deps.domains.normalize,
      turn: deps.hub.turn,
      mercure,
      node: deps.node ?? "local",
      wellKnownTenant: config.SWITCHBOARD_MERCURE_TENANT ?? null,
      anonymousCaps: new AddressCaps(config.MERCURE_ANONYMOUS_STREAMS_PER_ADDRESS),
      trustProxy: config.TRUST_PROXY,
    }),
  );
  const domainDeps = { ...streamDeps, maxEventBytes: config.MAX_EVENT_BYTES, maxJsonDepth: config.MAX_JSON_DEPTH, limiter };
  app.route("/", domainRoutes(domainDeps));
  app.route("/", assetRoutes());
  app.route(
    "/",
    consoleRoutes({
      ...domainDeps,
      views: deps.views,
      sessions: deps.sessions,
      panels: consolePanels,
      adminPanels,
      feedTopics: consoleFeed,
      domainConsoles,
      maxPageGroupsPerTenant: config.CONSOLE_MAX_PAGE_GROUPS_PER_TENANT,
      sharedRenders: new SharedRenders(),
      loginThrottle: new LoginThrottle({ failures: config.LOGIN_FAILURES_PER_ADDRESS, windowMs: config.LOGIN_FAILURE_WINDOW }),
      trustProxy: config.TRUST_PROXY,
    }),
  );
  return app;
}
