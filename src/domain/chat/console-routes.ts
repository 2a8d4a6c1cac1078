import { Hono, type Context } from "hono";
import { errorPage } from "../../console/error-page.js";
import { openPageStream } from "../../console/live.js";
import { type ConsoleDeps, type ConsoleEnv, layoutData, panelContext } from "../../console/routes.js";
import { ApiError } from "../../http/errors.js";
import { parsePosition } from "../../http/position.js";
import { cancelToolRun, newSessionBody, sendMessage, startSession } from "./commands.js";
import { MAX_MESSAGE_CHARS } from "./events.js";
import { renderMessageForm, renderNewSessionForm, renderToolRun, sessionEvents, transcriptPanel } from "./fragments.js";
import { findSession, findToolRun } from "./queries.js";
import { listPageRoutes } from "../../console/list-page.js";
import { SESSIONS_PATH, sessionsListPanel } from "./fragments.js";

const sessionsList = listPageRoutes({
  path: SESSIONS_PATH,
  title: "Chat sessions",
  lede: "Every conversation, most recently active first.",
  panel: sessionsListPanel,
});

type C = Context<ConsoleEnv>;

/**
 * The chat pages and control forms of the console (mounted behind the
 * console's session and CSRF checks). Every form works as a plain POST
 * answered with a 303; with htmx it gets the updated partial instead.
 */
export function chatConsoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  app.route("/", sessionsList(deps));
  const isHtmx = (c: C) => c.req.header("hx-request") === "true";
  const sessionUrl = (tenant: string, sessionId: string) => `/t/${encodeURIComponent(tenant)}/sessions/${encodeURIComponent(sessionId)}`;
  const forbidden = (c: C) => c.text("your key has no control scope", 403);
  const notFound = (c: C, message: string) => errorPage(c, deps, 404, message);
  const field = (form: Record<string, unknown>, name: string) => (typeof form[name] === "string" ? (form[name] as string) : "");

  /** The session view: its transcript at the head, and the page stream from exactly there. */
  const sessionPage = (c: C, sessionId: string, formState: { text?: string; error?: string } = {}, status: 200 | 422 = 200) => {
    const ctx = panelContext(c, deps);
    const tenant = ctx.tenant!;
    const { head, value } = deps.log.atHead(() => {
      const session = findSession(deps.db, tenant, sessionId);
      return session && { session, transcript: transcriptPanel(tenant, sessionId).render(ctx) };
    });
    if (!value) return notFound(c, `There is no chat session "${sessionId}" in ${tenant}.`);
    const { session, transcript } = value;
    const form = renderMessageForm(ctx, sessionId, session.agent, formState);
    const liveUrl = `${sessionUrl(tenant, sessionId)}/live?after=${head}`;
    const page = deps.views.render("pages/chat-session", { ...layoutData(c, deps), session, transcript, form, head, liveUrl, canControl: ctx.canControl });
    return c.html(page, status);
  };

  app.get("/t/:tenant/sessions/:session", (c) => sessionPage(c, c.req.param("session")));

  /** The session view's stream: only this session's chat.* events and its tool runs' tool.* events. */
  app.get("/t/:tenant/sessions/:session/live", (c) => {
    const ctx = panelContext(c, deps);
    const tenant = ctx.tenant!;
    const sessionId = c.req.param("session");
    if (!findSession(deps.db, tenant, sessionId)) return c.text(`no session "${sessionId}"`, 404);
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    // Rendered once for every viewer of the group: no one's CSRF token in it (forms send the page's in a header).
    const shared = { ...ctx, csrf: "" };
    const key = `session|${tenant}|${sessionId}|${ctx.canControl ? "c" : "r"}`;
    return openPageStream(c, deps, { panels: [transcriptPanel(tenant, sessionId)], ctx: shared, filter: null, position, key, match: sessionEvents(deps.db, tenant, sessionId) });
  });

  /** Opens a session from the console's form, then shows it. */
  app.post("/t/:tenant/sessions", async (c) => {
    const ctx = panelContext(c, deps);
    if (!ctx.canControl) return forbidden(c);
    const form = await c.req.parseBody();
    const typed = { agent: field(form, "agent").trim(), title: field(form, "title").trim() };
    let error: string;
    const parsed = newSessionBody.safeParse({ agent: typed.agent, ...(typed.title ? { title: typed.title } : {}) });
    if (!typed.agent) error = "Name the agent that answers (its worker id).";
    else if (!parsed.success) error = `${parsed.error.issues[0].path.join(".") || "form"}: ${parsed.error.issues[0].message}`;
    else {
      try {
        const { session } = await startSession(deps, ctx.tenant!, parsed.data);
        const url = sessionUrl(ctx.tenant!, session.sessionId);
        return isHtmx(c) ? c.body(null, 200, { "HX-Redirect": url }) : c.redirect(url, 303);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        error = err.message;
      }
    }
    const html = renderNewSessionForm(ctx, { ...typed, error });
    if (isHtmx(c)) return c.html(html, 422);
    return c.html(deps.views.render("pages/chat-new-session", { ...layoutData(c, deps), form: html }), 422);
  });

  /** A user's message from the session view: the same command as POST /api/v1/…/sessions/:session/messages. */
  app.post("/t/:tenant/sessions/:session/messages", async (c) => {
    const ctx = panelContext(c, deps);
    if (!ctx.canControl) return forbidden(c);
    const tenant = ctx.tenant!;
    const sessionId = c.req.param("session");
    const session = findSession(deps.db, tenant, sessionId);
    if (!session) return notFound(c, `There is no chat session "${sessionId}" in ${tenant}.`);
    const text = field(await c.req.parseBody(), "text");
    let error: string | undefined;
    if (!text.trim()) error = "Type a message first.";
    else if (text.length > MAX_MESSAGE_CHARS) error = `A message has at most ${MAX_MESSAGE_CHARS} characters.`;
    else {
      try {
        await sendMessage(deps, tenant, sessionId, { text });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        error = err.message;
      }
    }
    if (!isHtmx(c)) return error ? sessionPage(c, sessionId, { text, error }, 422) : c.redirect(sessionUrl(tenant, sessionId), 303);
    // Sent: a cleared form (the message itself arrives on the page stream). Refused: what was typed, and why.
    return c.html(renderMessageForm(ctx, sessionId, session.agent, error ? { text, error } : {}), error ? 422 : 200);
  });

  /** Cancel a tool run: the same command as POST /api/v1/…/tools/:tool/cancel; shows "cancel requested…" until the agent answers. */
  app.post("/t/:tenant/tools/:tool/cancel", async (c) => {
    const ctx = panelContext(c, deps);
    if (!ctx.canControl) return forbidden(c);
    const tenant = ctx.tenant!;
    const toolId = c.req.param("tool");
    let error: string | null = null;
    try {
      await cancelToolRun(deps, tenant, toolId, {});
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 404) return notFound(c, `There is no tool run "${toolId}" in ${tenant}.`);
      error = err.message;
    }
    const run = findToolRun(deps.db, tenant, toolId)!;
    if (!isHtmx(c)) return c.redirect(sessionUrl(tenant, run.sessionId), 303);
    return c.html(renderToolRun(ctx, run, error), error ? 409 : 200);
  });

  return app;
}
