import { Hono } from "hono";
import { parsePosition } from "../http/position.js";
import { feedFilter, renderFeed, type FeedFilter } from "./feed.js";
import { openPageStream } from "./live.js";
import type { PanelContext } from "./panels.js";
import { endWithSession, layoutData, panelContext, type ConsoleDeps, type ConsoleEnv } from "./routes.js";
import type { Context } from "hono";

/** Client labels are at most this long (the call events' `client` field). */
const CLIENT_MAX = 200;

/**
 * The admin's view across every tenant (admin keys only; the session
 * middleware answers 403 to tenant keys): the panels that render across
 * tenants (`allTenants`, the call panel) and a feed of every tenant's
 * events, both narrowed to one client with `?client=`. One page stream,
 * read with tenant null.
 */
export function adminRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  const panels = deps.panels.filter((p) => p.allTenants);

  /** The page's context and feed filter, the client checked once for both. */
  const view = (c: Context<ConsoleEnv>): { ctx: PanelContext; filter: FeedFilter } => {
    const base = panelContext(c, deps);
    const raw = base.query.client?.trim();
    const client = raw && raw.length <= CLIENT_MAX ? raw : null;
    const ctx = { ...base, tenant: null, query: { ...base.query, client: client ?? undefined } };
    return { ctx, filter: { ...feedFilter(ctx.query), client } };
  };
  const query = (f: FeedFilter) =>
    Object.fromEntries(Object.entries({ client: f.client, platform: f.platform, topic: f.topic }).filter((e): e is [string, string] => !!e[1]));

  app.get("/admin", async (c) => {
    const { ctx, filter } = view(c);
    // State and head in one snapshot, then the stream starts exactly there.
    const { head, value: html } = deps.log.atHead(() => panels.map((p) => (p.page ? p.page(ctx) : p.render(ctx))));
    const feed = await renderFeed(deps.log, ctx, filter, head);
    const liveUrl = `/admin/live?${new URLSearchParams({ ...query(filter), after: String(head) })}`;
    return c.html(deps.views.render("pages/admin", { ...layoutData(c, deps), panels: html, feed, filter, head, liveUrl }));
  });

  app.get("/admin/live", (c) => {
    const { ctx, filter } = view(c);
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    const key = `admin|${new URLSearchParams(query(filter))}|${ctx.canControl ? "c" : "r"}`;
    endWithSession(c, deps);
    return openPageStream(c, deps, { panels, ctx, filter, position, key });
  });

  return app;
}
