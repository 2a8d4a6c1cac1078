import { Hono } from "hono";
import { parsePosition } from "../http/position.js";
import { feedFilter, renderFeed, type FeedFilter } from "./feed.js";
import { openPageStream } from "./live.js";
import { pageQuery, queryString, type PageQuery } from "./page-query.js";
import type { PanelContext } from "./panels.js";
import { layoutData, panelContext, type ConsoleDeps, type ConsoleEnv } from "./routes.js";
import type { Context } from "hono";

/**
 * The admin's view across every tenant (admin keys only; the session
 * middleware answers 403 to tenant keys): the panels that render across
 * tenants (`allTenants`, the call panel) and a feed of every tenant's
 * events, both narrowed to one client with `?client=`. One page stream,
 * read with tenant null.
 */
export function adminRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  const panels = deps.adminPanels ?? deps.panels.filter((p) => p.allTenants);

  /** The page's context and feed filter, from its validated filters (the client checked once for both). */
  const view = (c: Context<ConsoleEnv>): { ctx: PanelContext; filter: FeedFilter; query: PageQuery } => {
    const query = pageQuery(panels, c.req.query());
    const ctx = { ...panelContext(c, deps), tenant: null, query };
    return { ctx, filter: { ...feedFilter(query), client: query.client ?? null }, query };
  };

  app.get("/admin", async (c) => {
    const { ctx, filter, query } = view(c);
    // State and head in one snapshot, then the stream starts exactly there.
    const { head, value: html } = deps.log.atHead(() => panels.map((p) => (p.page ? p.page(ctx) : p.render(ctx))));
    const feed = await renderFeed(deps.log, ctx, filter, head);
    const liveUrl = `/admin/live?${new URLSearchParams({ ...query, after: String(head) })}`;
    return c.html(deps.views.render("pages/admin", { ...layoutData(c, deps), panels: html, feed, filter, head, liveUrl }));
  });

  app.get("/admin/live", (c) => {
    const { ctx, filter, query } = view(c);
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    const key = `admin|${queryString(query)}|${ctx.canControl ? "c" : "r"}`;
    return openPageStream(c, deps, { panels, ctx, filter, position, key });
  });

  return app;
}
