import { Hono } from "hono";
import { errorPage } from "../../console/error-page.js";
import { openPageStream } from "../../console/live.js";
import { renderFeed, type FeedFilter } from "../../console/feed.js";
import { type ConsoleDeps, type ConsoleEnv, layoutData, panelContext } from "../../console/routes.js";
import { parsePosition } from "../../http/position.js";
import { agentDetailPanel } from "./fragments.js";
import { findAgent } from "./queries.js";

/** An agent's history on its page: every event about it (its subject), newest first. */
const agentEvents = (agentId: string): FeedFilter => ({ platform: null, topic: null, subject: agentId, every: true });

/** The agents pages and control forms of the console (mounted behind the console's session and CSRF checks). */
export function agentsConsoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();

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
