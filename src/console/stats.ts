import { Hono } from "hono";
import { topicOf } from "../domain/registry.js";
import type { Retained } from "../store/event-log.js";
import { RateMeter } from "./rate-meter.js";
import { layoutData, type ConsoleDeps, type ConsoleEnv } from "./routes.js";

/**
 * What the log retains of a tenant is read from its type summary (one row per distinct type, never its
 * events), so it is cheap; still read at most this often per tenant, however many pages poll.
 */
const RETAINED_TTL_MS = 4_000;

/** The summary's counts by topic, most events first. */
function topicCounts(types: Retained["types"]): { topic: string; count: number }[] {
  const byTopic = new Map<string, number>();
  for (const { type, count } of types) byTopic.set(topicOf(type), (byTopic.get(topicOf(type)) ?? 0) + count);
  return [...byTopic].map(([topic, count]) => ({ topic, count })).sort((a, b) => b.count - a.count || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}

/**
 * The tenant's stats page, `/t/:tenant/stats`: open streams, events per
 * second, what the log retains for the tenant and its events by topic. The
 * page polls its own partial (an htmx request for the same URL gets the
 * partial alone).
 *
 * Events per second come from an in-memory meter fed as events commit, not
 * from the log: counting the last minute in SQL would scan the tenant's
 * events on every poll (the log has no index on time).
 */
export function statsRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  const meter = new RateMeter();
  deps.log.onCommit((committed) => meter.record(committed));
  const cache = new Map<string, { at: number; topics: { topic: string; count: number }[]; latest: number | null }>();

  const stats = async (tenant: string) => {
    let cached = cache.get(tenant);
    if (!cached || Date.now() - cached.at > RETAINED_TTL_MS) {
      const retained = await deps.log.retained(tenant);
      cache.set(tenant, (cached = { at: Date.now(), topics: topicCounts(retained.types), latest: retained.latest }));
    }
    const hub = deps.hub.stats();
    return {
      tenant,
      streams: hub.streams,
      slowDisconnects: hub.slowDisconnects,
      rate: meter.rate(tenant),
      retained: cached.topics.reduce((n, t) => n + t.count, 0),
      head: deps.log.head(),
      latest: cached.latest,
      oldest: await deps.log.oldest(tenant),
      topics: cached.topics,
      at: Date.now(),
    };
  };

  app.get("/t/:tenant/stats", async (c) => {
    const html = deps.views.render("partials/stats", await stats(c.req.param("tenant")));
    if (c.req.header("hx-request") === "true") return c.html(html);
    return c.html(deps.views.render("pages/stats", { ...layoutData(c, deps), stats: html }));
  });

  return app;
}
