import { Hono } from "hono";
import { errorPage } from "../../console/error-page.js";
import { openPageStream } from "../../console/live.js";
import { renderFeed, type FeedFilter } from "../../console/feed.js";
import { pageQuery, queryString } from "../../console/page-query.js";
import { replacePartial } from "../../console/partials.js";
import { type ConsoleDeps, type ConsoleEnv, layoutData, pageLiveUrl, panelContext } from "../../console/routes.js";
import { parsePosition } from "../../http/position.js";
import { agentDetailPanel, agentsPanel } from "./fragments.js";
import { findAgent } from "./queries.js";

/** An agent's history on its page: every event about it (its subject), newest first. */
const agentEvents = (agentId: string): FeedFilter => ({ platform: null, topic: null, subject: agentId, every: true });

/** The agents pages and control forms of the console (mounted behind the console's session and CSRF checks). */
export function agentsConsoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();

  /**
   * The agents list alone, for the filter form: the list at the head, and
   * the page stream reconnected with the new filter from that same head, so
   * live updates keep rendering what the operator asked for. Without htmx,
   * the console page with the filter in its URL.
   */
  app.get("/t/:tenant/agents", (c) => {
    const tenant = c.req.param("tenant");
    const query = pageQuery(deps.panels, c.req.query());
    const page = `/t/${encodeURIComponent(tenant)}${Object.keys(query).length ? `?${queryString(query)}` : ""}`;
    if (c.req.header("hx-request") !== "true") return c.redirect(page, 303);
    const ctx = { ...panelContext(c, deps), query };
    const { head, value: list } = deps.log.atHead(() => agentsPanel.render(ctx));
    const live = replacePartial("page-live", deps.views.render("partials/page-live", { url: pageLiveUrl(tenant, query, head) }));
    return c.html(`${list}\n${live}`, 200, { "HX-Push-Url": page });
  });

  app.get("/t/:tenant/agents/:agent", async (c) => {
    const ctx = panelContext(c, deps);
    const agentId = c.req.param("agent");
    const { head, value } = deps.log.atHead(() => {
      const agent = findAgent(deps.db, ctx.tenant!, agentId);
      return agent && { agent, detail: agentDetailPanel(agentId).render(ctx) };
    });
    if (!value) {
      return errorPage(c, deps, 404, `There is no agent "${agentId}" in ${ctx.tenant}.`);
    }
    const { agent, detail } = value;
    const feed = await renderFeed(deps.log, ctx, agentEvents(agentId), head);
    const liveUrl = `/t/${encodeURIComponent(ctx.tenant!)}/agents/${encodeURIComponent(agentId)}/live?after=${head}`;
    return c.html(deps.views.render("pages/agent", { ...layoutData(c, deps), agentName: agent.name, detail, feed, head, liveUrl }));
  });

  app.get("/t/:tenant/agents/:agent/live", (c) => {
    const ctx = panelContext(c, deps);
    const agentId = c.req.param("agent");
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    const key = `agent|${ctx.tenant}|${agentId}|${ctx.canControl ? "c" : "r"}`;
    return openPageStream(c, deps, { panels: [agentDetailPanel(agentId)], ctx, filter: agentEvents(agentId), position, key });
  });

  return app;
}
