import { asc, desc, eq, max, sql, sum } from "drizzle-orm";
import { Hono } from "hono";
import type { Db } from "../store/db.js";
import { events, eventTypeCounts } from "../store/schema.js";
import { RateMeter } from "./rate-meter.js";
import { layoutData, type ConsoleDeps, type ConsoleEnv } from "./routes.js";

/**
 * Topic counts add up the tenant's rows of the type summary (one per distinct type, never its events),
 * so they are cheap; still computed at most this often per tenant, however many pages poll.
 */
const TOPICS_TTL_MS = 4_000;

/** The part of a type before its first dot (the whole type when it has none). */
const topicOfType = sql<string>`CASE WHEN instr(${eventTypeCounts.type}, '.') > 0 THEN substr(${eventTypeCounts.type}, 1, instr(${eventTypeCounts.type}, '.') - 1) ELSE ${eventTypeCounts.type} END`;
const topicCount = sql<number>`cast(${sum(eventTypeCounts.count)} as integer)`;

function topicCounts(db: Db, tenant: string): { topic: string; count: number }[] {
  return db
    .select({ topic: topicOfType, count: topicCount })
    .from(eventTypeCounts)
    .where(eq(eventTypeCounts.tenant, tenant))
    .groupBy(topicOfType)
    .orderBy(desc(topicCount), asc(topicOfType))
    .all();
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
  const cache = new Map<string, { at: number; topics: { topic: string; count: number }[] }>();

  const stats = async (tenant: string) => {
    let cached = cache.get(tenant);
    if (!cached || Date.now() - cached.at > TOPICS_TTL_MS) cache.set(tenant, (cached = { at: Date.now(), topics: topicCounts(deps.db, tenant) }));
    const latest = deps.db.select({ id: max(events.id) }).from(events).where(eq(events.tenant, tenant)).get()?.id ?? null;
    const hub = deps.hub.stats();
    return {
      tenant,
      streams: hub.streams,
      slowDisconnects: hub.slowDisconnects,
      rate: meter.rate(tenant),
      retained: cached.topics.reduce((n, t) => n + t.count, 0),
      head: deps.log.head(),
      latest,
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
