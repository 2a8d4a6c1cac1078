import { Hono } from "hono";
import { errorPage } from "../../console/error-page.js";
import { renderFeed, type FeedFilter } from "../../console/feed.js";
import { listPageRoutes } from "../../console/list-page.js";
import { openPageStream } from "../../console/live.js";
import type { Panel } from "../../console/panels.js";
import { type ConsoleDeps, type ConsoleEnv, layoutData, panelContext } from "../../console/routes.js";
import { parsePosition } from "../../http/position.js";
import { CALLS_PATH, callsListPanel } from "./list.js";
import { findCall } from "./queries.js";

/** A call's timeline: every event about it (its subject), newest first, each with its data. */
const timeline = (callId: string): FeedFilter => ({ platform: null, topic: "call", subject: callId, every: true, payloads: true });

/** One call's state on its page (#call-detail): status, duration, agent, summary and sentiment. */
function callDetailPanel(tenant: string, callId: string): Panel {
  return {
    id: "call-detail",
    topics: ["call"],
    render: (ctx) => ctx.views.render("partials/call-detail", { call: findCall(ctx.db, tenant, callId)! }),
  };
}

const listRoutes = listPageRoutes({
  path: CALLS_PATH,
  title: "Calls",
  lede: "Every call, newest first. Numbers show their last 4 digits only.",
  panel: callsListPanel,
});

/** The calls list, and each call's page with its live state and timeline (behind the console's session checks). */
export function callsConsoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  app.route("/", listRoutes(deps));
  const href = (tenant: string, callId: string) => `/t/${encodeURIComponent(tenant)}/calls/${encodeURIComponent(callId)}`;

  app.get("/t/:tenant/calls/:call", async (c) => {
    const ctx = panelContext(c, deps);
    const tenant = ctx.tenant!;
    const callId = c.req.param("call");
    // The call and the head in one snapshot, then the stream starts exactly there.
    const { head, value } = deps.log.atHead(() => {
      const call = findCall(deps.db, tenant, callId);
      return call && { call, detail: callDetailPanel(tenant, callId).render(ctx) };
    });
    if (!value) return errorPage(c, deps, 404, `There is no call "${callId}" in ${tenant}.`);
    const events = await renderFeed(deps.log, ctx, timeline(callId), head);
    const liveUrl = `${href(tenant, callId)}/live?after=${head}`;
    return c.html(deps.views.render("pages/call", { ...layoutData(c, deps), call: value.call, detail: value.detail, timeline: events, head, liveUrl }));
  });

  app.get("/t/:tenant/calls/:call/live", (c) => {
    const ctx = panelContext(c, deps);
    const tenant = ctx.tenant!;
    const callId = c.req.param("call");
    if (!findCall(deps.db, tenant, callId)) return c.text(`no call "${callId}"`, 404);
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    const key = `call|${tenant}|${callId}`;
    const match = (e: { type: string; subject: string | null }) => e.subject === callId && e.type.startsWith("call.");
    return openPageStream(c, deps, { panels: [callDetailPanel(tenant, callId)], ctx, filter: timeline(callId), position, key, match });
  });

  return app;
}
