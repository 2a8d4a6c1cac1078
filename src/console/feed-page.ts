import { Hono } from "hono";
import { parsePosition } from "../http/position.js";
import { feedChips } from "./feed-chips.js";
import { feedFilter, renderFeed } from "./feed.js";
import { openPageStream } from "./live.js";
import { tenantPath } from "./overview.js";
import { pageQuery, queryString } from "./page-query.js";
import { layoutData, panelContext, type ConsoleDeps, type ConsoleEnv } from "./routes.js";

/**
 * The activity feed on its own page (`/t/:tenant/feed`): the overview's
 * feed, with the same chips, filters and partials, the whole height of the
 * screen; its stream carries the feed alone.
 */
export function feedPageRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();

  app.get("/t/:tenant/feed", async (c) => {
    const query = pageQuery([], c.req.query());
    const ctx = { ...panelContext(c, deps), query };
    const filter = feedFilter(query);
    const head = deps.log.head();
    const feed = await renderFeed(deps.log, ctx, filter, head);
    const path = `${tenantPath(ctx.tenant!)}/feed`;
    const q = queryString(query);
    const liveUrl = `${path}/live?${q ? `${q}&` : ""}after=${head}`;
    return c.html(deps.views.render("pages/feed", { ...layoutData(c, deps), feed, filter, chips: feedChips(path, query), feedPath: path, head, liveUrl }));
  });

  app.get("/t/:tenant/feed/live", (c) => {
    const query = pageQuery([], c.req.query());
    const ctx = { ...panelContext(c, deps), query };
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    // The feed renders the same for every viewer of the tenant: rights do not split the group.
    const key = `feed|${ctx.tenant}|${queryString(query)}`;
    return openPageStream(c, deps, { panels: [], ctx, filter: feedFilter(query), position, key });
  });

  return app;
}
