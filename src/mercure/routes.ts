import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../http/env.js";
import { ApiError } from "../http/errors.js";
import { identify, type ClientDeps } from "./client.js";
import { publishUpdate, type PublishDeps } from "./publish.js";
import { subscribeUpdates, type SubscribeDeps } from "./subscribe.js";
import { subscriptionsApi, type SubscriptionsApiDeps } from "./subscriptions-api.js";

export interface MercureDeps extends ClientDeps, SubscribeDeps, PublishDeps, SubscriptionsApiDeps {
  /** The tenant `/.well-known/mercure` serves (SWITCHBOARD_MERCURE_TENANT); null: that mount answers 404. */
  wellKnownTenant: string | null;
}

export const WELL_KNOWN = "/.well-known/mercure";
export const tenantHubPath = (tenant: string) => `/api/v1/tenants/${tenant}/mercure`;

/**
 * Mercure hubs: one per tenant at /api/v1/tenants/:tenant/mercure, and
 * /.well-known/mercure for the tenant the configuration names. Each
 * subscribes (GET) and publishes (POST), speaking the 0.x protocol or the
 * 1.0 draft as each request does.
 */
export function mercureRoutes(deps: MercureDeps) {
  const app = new Hono<AppEnv>();
  const hub = (c: Context<AppEnv>, tenant: string, path: string) => {
    const hubUrl = new URL(path, new URL(c.req.url).origin);
    const cors = corsHeaders(c, deps.mercure.settings(tenant).corsOrigins);
    return { hubUrl, cors };
  };
  const subscribe = async (c: Context<AppEnv>, tenant: string, path: string) => {
    const { hubUrl, cors } = hub(c, tenant, path);
    const client = await identify(c, deps, tenant, "subscribe", hubUrl);
    return subscribeUpdates(c, deps, tenant, client, hubUrl, cors);
  };
  const publish = async (c: Context<AppEnv>, tenant: string, path: string) => {
    const { hubUrl, cors } = hub(c, tenant, path);
    for (const [name, value] of Object.entries(cors)) c.header(name, value);
    const client = await identify(c, deps, tenant, "publish", hubUrl);
    return publishUpdate(c, deps, tenant, client, hubUrl);
  };
  const preflight = (c: Context<AppEnv>, tenant: string) => {
    const headers = corsHeaders(c, deps.mercure.settings(tenant).corsOrigins);
    if (!headers["Access-Control-Allow-Origin"]) return c.body(null, 204);
    return c.body(null, 204, {
      ...headers,
      "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
      "Access-Control-Allow-Headers": "Authorization, Content-Type, Last-Event-ID, Cache-Control",
      "Access-Control-Max-Age": "600",
    });
  };
  const wellKnown = () => {
    if (deps.wellKnownTenant === null) throw new ApiError(404, "not_found", "no tenant is served at /.well-known/mercure: set SWITCHBOARD_MERCURE_TENANT, or use /api/v1/tenants/<tenant>/mercure");
    return deps.wellKnownTenant;
  };

  const subscriptions = (c: Context<AppEnv>, tenant: string, path: string) => {
    const { hubUrl, cors } = hub(c, tenant, path);
    for (const [name, value] of Object.entries(cors)) c.header(name, value);
    return subscriptionsApi(c, deps, tenant, hubUrl);
  };

  app.get("/api/v1/tenants/:tenant/mercure", (c) => subscribe(c, c.req.param("tenant"), tenantHubPath(c.req.param("tenant"))));
  app.get("/api/v1/tenants/:tenant/mercure/subscriptions", (c) => subscriptions(c, c.req.param("tenant"), tenantHubPath(c.req.param("tenant"))));
  app.get("/api/v1/tenants/:tenant/mercure/subscriptions/*", (c) => subscriptions(c, c.req.param("tenant"), tenantHubPath(c.req.param("tenant"))));
  app.post("/api/v1/tenants/:tenant/mercure", (c) => publish(c, c.req.param("tenant"), tenantHubPath(c.req.param("tenant"))));
  app.options("/api/v1/tenants/:tenant/mercure", (c) => preflight(c, c.req.param("tenant")));
  app.get(WELL_KNOWN, (c) => subscribe(c, wellKnown(), WELL_KNOWN));
  app.get(`${WELL_KNOWN}/subscriptions`, (c) => subscriptions(c, wellKnown(), WELL_KNOWN));
  app.get(`${WELL_KNOWN}/subscriptions/*`, (c) => subscriptions(c, wellKnown(), WELL_KNOWN));
  app.post(WELL_KNOWN, (c) => publish(c, wellKnown(), WELL_KNOWN));
  app.options(WELL_KNOWN, (c) => preflight(c, wellKnown()));
  return app;
}

/**
 * Discovery: every JSON answer of a tenant's API (its state, its history)
 * names the tenant's hub in a `Link: <…>; rel="mercure"` header, as a
 * Mercure publisher advertises its hub, so a client can go from a resource
 * to its updates.
 */
export function discoveryLink() {
  return createMiddleware<AppEnv>(async function mercureLink(c, next) {
    // Only GETs are resources; a publish goes by without another await (it is the hottest route).
    if (c.req.method !== "GET") return next();
    await next();
    const tenant = c.req.param("tenant");
    if (tenant === undefined || !c.res.headers.get("content-type")?.startsWith("application/json")) return;
    // The hub's own answers (the subscriptions API) name it already, with their cursor.
    if (c.res.headers.has("link")) return;
    c.res.headers.append("Link", `<${new URL(tenantHubPath(tenant), c.req.url)}>; rel="mercure"`);
  });
}

/**
 * CORS for a browser on another origin: only an origin on the tenant's
 * allowlist is answered, by name, with credentials allowed (the cookie
 * carries the token); never `*`, and never an origin merely reflected.
 */
function corsHeaders(c: Context, allowed: readonly string[]): Record<string, string> {
  const origin = c.req.header("origin");
  if (origin === undefined || !allowed.includes(origin)) return {};
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Expose-Headers": "Last-Event-ID, Mercure-Last-Event-ID, Link, WWW-Authenticate",
    Vary: "Origin",
  };
}
