import { Hono, type Context } from "hono";
import { errorPage } from "../../console/error-page.js";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { renderFeed, type FeedFilter } from "../../console/feed.js";
import { openPageStream } from "../../console/live.js";
import { type ConsoleDeps, type ConsoleEnv, layoutData, panelContext } from "../../console/routes.js";
import { ApiError } from "../../http/errors.js";
import { parsePosition } from "../../http/position.js";
import { requestControl } from "./commands.js";
import { cardId, renderWorkflowCard, workflowCardPanel } from "./fragments.js";
import { findWorkflow, type Workflow } from "./queries.js";
import { CONTROL_ACTIONS } from "./schema.js";

type Ctx = Context<ConsoleEnv>;

/**
 * The workflows pages and control forms of the console (mounted behind the
 * console's session and CSRF checks): a workflow's detail page and its page
 * stream, and pause / resume / cancel as plain POST forms.
 */
export function workflowsConsoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  const href = (tenant: string, id: string) => `/t/${encodeURIComponent(tenant)}/workflows/${encodeURIComponent(id)}`;
  // Its history is every event of it, progress reports included.
  const history = (id: string): FeedFilter => ({ platform: null, topic: "workflow", subject: id, every: true });

  /** The detail page: the card in full and the workflow's events, newest first; `message` is a refused control. */
  async function detailPage(c: Ctx, w: Workflow, message?: string, status: ContentfulStatusCode = 200) {
    const ctx = panelContext(c, deps);
    // The card and the head in one snapshot, then the stream starts exactly there.
    const { head, value: card } = deps.log.atHead(() => renderWorkflowCard(ctx, w, { full: true, message }));
    const events = await renderFeed(deps.log, ctx, history(w.workflowId), head);
    const liveUrl = `${href(w.tenant, w.workflowId)}/live?after=${head}`;
    return c.html(deps.views.render("pages/workflow", { ...layoutData(c, deps), w, card, history: events, head, liveUrl }), status);
  }

  const notFound = (c: Ctx, id: string) => errorPage(c, deps, 404, `There is no workflow "${id}".`);

  app.get("/t/:tenant/workflows/:workflow", (c) => {
    const w = findWorkflow(deps.db, c.req.param("tenant"), c.req.param("workflow"));
    return w ? detailPage(c, w) : notFound(c, c.req.param("workflow"));
  });

  app.get("/t/:tenant/workflows/:workflow/live", (c) => {
    const ctx = panelContext(c, deps);
    const tenant = c.req.param("tenant");
    const id = c.req.param("workflow");
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    const card = workflowCardPanel(id, (p) => findWorkflow(p.db, tenant, id));
    // One group per workflow and rights: the card's buttons depend on them.
    const key = `workflow|${tenant}|${id}|${ctx.canControl ? "c" : "r"}`;
    return openPageStream(c, deps, { panels: [card], ctx, filter: history(id), position, key });
  });

  /**
   * A control button: the same command as the API's. An htmx request gets
   * the updated card at once (showing "requested…"); a plain form post is
   * sent back to its page (303). A refused control (409) is shown on the
   * card, never as a broken page.
   */
  for (const action of CONTROL_ACTIONS) {
    app.post(`/t/:tenant/workflows/:workflow/${action}`, async (c) => {
      const ctx = panelContext(c, deps);
      const tenant = c.req.param("tenant");
      const id = c.req.param("workflow");
      if (!ctx.canControl) {
        return errorPage(c, deps, 403, "Your key has no control scope: it cannot pause, resume or cancel workflows.");
      }
      const form = await c.req.parseBody();
      const full = form.view === "full";
      const htmx = c.req.header("hx-request") === "true";
      try {
        const { workflow } = await requestControl(deps, tenant, id, action);
        if (htmx) return c.html(renderWorkflowCard(ctx, workflow, { full }));
        return c.redirect(full ? href(tenant, id) : `/t/${encodeURIComponent(tenant)}#${cardId(id)}`, 303);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        const w = findWorkflow(deps.db, tenant, id);
        if (!w) return notFound(c, id);
        const message = `Could not ${action}: ${err.message}`;
        const status = err.status as ContentfulStatusCode;
        if (htmx) return c.html(renderWorkflowCard(ctx, w, { full, message }), status);
        return detailPage(c, w, message, status);
      }
    });
  }

  return app;
}
