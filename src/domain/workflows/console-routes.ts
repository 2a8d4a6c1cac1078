import { Hono, type Context } from "hono";
import { errorPage } from "../../console/error-page.js";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { openPageStream } from "../../console/live.js";
import { type ConsoleDeps, type ConsoleEnv, layoutData, panelContext } from "../../console/routes.js";
import { topicOf } from "../registry.js";
import { ApiError } from "../../http/errors.js";
import { parsePosition } from "../../http/position.js";
import { requestControl } from "./commands.js";
import { controlReason } from "./events.js";
import { cardId, renderWorkflowCard, workflowCardPanel } from "./fragments.js";
import { findWorkflow, type Workflow } from "./queries.js";
import { CONTROL_ACTIONS } from "./schema.js";
import { historyCursor, timelinePanel, workflowHref } from "./timeline.js";

type Ctx = Context<ConsoleEnv>;

/**
 * The workflows pages and control forms of the console (mounted behind the
 * console's session and CSRF checks): the list, a workflow's page with its
 * history and its page stream, and pause / resume / cancel / retry as
 * plain POST forms.
 */
export function workflowsConsoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  /** The workflow's page: the card in full and a page of its history; `message` is a refused control. */
  async function detailPage(c: Ctx, w: Workflow, message?: string, status: ContentfulStatusCode = 200) {
    const ctx = panelContext(c, deps);
    const before = historyCursor(ctx.query);
    // The card and the head in one snapshot, the history through that head, then the stream starts exactly there.
    const { head, value: card } = deps.log.atHead(() => renderWorkflowCard(ctx, w, { full: true, message }));
    const history = await timelinePanel(w.workflowId).render(ctx, deps.log, head);
    const liveUrl = `${href(w.tenant, w.workflowId)}/live?${before === null ? "" : `before=${before}&`}after=${head}`;
    const listUrl = `/t/${encodeURIComponent(w.tenant)}/workflows`;
    return c.html(deps.views.render("pages/workflow", { ...layoutData(c, deps), w, card, history, listUrl, older: before !== null, head, liveUrl }), status);
  }

  const href = (tenant: string, id: string) => workflowHref(tenant, id);
  const notFound = (c: Ctx, id: string) => errorPage(c, deps, 404, `There is no workflow "${id}".`);

  app.get("/t/:tenant/workflows/:workflow", (c) => {
    const w = findWorkflow(deps.db, c.req.param("tenant"), c.req.param("workflow"));
    return w ? detailPage(c, w) : notFound(c, c.req.param("workflow"));
  });

  app.get("/t/:tenant/workflows/:workflow/live", (c) => {
    const tenant = c.req.param("tenant");
    const id = c.req.param("workflow");
    const before = historyCursor(c.req.query());
    // Rendered from validated parameters alone: one group per workflow, history page and rights.
    const ctx = { ...panelContext(c, deps), query: before === null ? {} : { before: String(before) } };
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    const card = workflowCardPanel(id, (p) => findWorkflow(p.db, tenant, id));
    // Its own events, and its worker's presence (the card says whether a control can reach it).
    const worker = findWorkflow(deps.db, tenant, id)?.worker ?? null;
    const match = (e: { type: string; subject: string | null }) =>
      (topicOf(e.type) === "workflow" && e.subject === id) || ((e.type === "agent.connected" || e.type === "agent.disconnected") && e.subject === worker);
    const key = `workflow|${tenant}|${id}|${before ?? ""}|${ctx.canControl ? "c" : "r"}`;
    return openPageStream(c, deps, { panels: [card], history: timelinePanel(id), ctx, filter: null, position, key, match });
  });

  /**
   * A control button: the same command as the API's. An htmx request gets
   * the updated card at once (showing "requested…"); a plain form post is
   * sent back to its page (303). A refused control (400, 409) is shown on
   * the card, never as a broken page. A cancel may say why (`reason`).
   */
  for (const action of CONTROL_ACTIONS) {
    app.post(`/t/:tenant/workflows/:workflow/${action}`, async (c) => {
      const ctx = panelContext(c, deps);
      const tenant = c.req.param("tenant");
      const id = c.req.param("workflow");
      if (!ctx.canControl) {
        return errorPage(c, deps, 403, "Your key has no control scope: it cannot pause, resume, cancel or retry workflows.");
      }
      const form = await c.req.parseBody();
      const full = form.view === "full";
      const htmx = c.req.header("hx-request") === "true";
      try {
        const { workflow } = await requestControl(deps, tenant, id, action, null, action === "cancel" ? reasonOf(form.reason) : null);
        if (htmx) return c.html(renderWorkflowCard(ctx, workflow, { full }));
        return c.redirect(full ? href(tenant, id) : `/t/${encodeURIComponent(tenant)}/workflows#${cardId(id)}`, 303);
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

/** The cancel form's reason: blank is none; too long or not one line is a 400 that says so. */
function reasonOf(value: unknown): string | null {
  if (typeof value !== "string" || value.trim() === "") return null;
  const parsed = controlReason.safeParse(value);
  if (!parsed.success) throw new ApiError(400, "invalid_request", `the reason ${parsed.error.issues[0].message}`);
  return parsed.data;
}
