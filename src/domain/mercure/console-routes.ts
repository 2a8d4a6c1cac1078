import { Hono } from "hono";
import { renderFeed } from "../../console/feed.js";
import { openPageStream } from "../../console/live.js";
import { panelQuery, queryString, type PageQuery } from "../../console/page-query.js";
import { type ConsoleDeps, type ConsoleEnv, layoutData, panelContext } from "../../console/routes.js";
import { parsePosition } from "../../http/position.js";
import { topicOf } from "../registry.js";
import { readsPrivateUpdates, updatesFeed } from "./feed.js";
import { MERCURE_PATH, mercureTopicsPanel } from "./fragments.js";

const panels = [mercureTopicsPanel];

/** The page's stream: under /live/, as a list page's. */
function liveUrl(tenant: string, query: PageQuery, head: number): string {
  const q = queryString(query);
  return `/t/${encodeURIComponent(tenant)}/live/${MERCURE_PATH}?${q ? `${q}&` : ""}after=${head}`;
}

/**
 * The Mercure page of the console (/t/:tenant/mercure): the tenant's topics
 * with their counts and last update, and the feed of its updates, both
 * live. A private update's data shows only to a viewer whose key would
 * receive it from the hub (`readsPrivateUpdates`); the page's stream group
 * is keyed by that right, so no render of it reaches a viewer without it.
 */
export function mercureConsoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();

  app.get(`/t/:tenant/${MERCURE_PATH}`, async (c) => {
    const query = panelQuery(panels, c.req.query());
    const ctx = { ...panelContext(c, deps), query };
    // The topics and the head in one snapshot; the feed is read up to that head, and the stream starts there.
    const { head, value: topics } = deps.log.atHead(() => mercureTopicsPanel.render(ctx));
    const feed = await renderFeed(deps.log, ctx, updatesFeed(readsPrivateUpdates(c.get("key"))), head);
    return c.html(deps.views.render("pages/mercure", { ...layoutData(c, deps), topics, feed, head, liveUrl: liveUrl(ctx.tenant!, query, head) }));
  });

  app.get(`/t/:tenant/live/${MERCURE_PATH}`, (c) => {
    const query = panelQuery(panels, c.req.query());
    const ctx = { ...panelContext(c, deps), query };
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    const privateData = readsPrivateUpdates(c.get("key"));
    // Rendered from the validated page and the private-data right alone: nothing else of the viewer shows on this page.
    const key = `mercure|${ctx.tenant}|${queryString(query)}|${privateData ? "private" : "public"}`;
    return openPageStream(c, deps, { panels, ctx, filter: updatesFeed(privateData), position, key, match: (e) => topicOf(e.type) === "mercure" });
  });

  return app;
}
