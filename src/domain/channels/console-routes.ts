import { Hono, type Context } from "hono";
import { errorPage } from "../../console/error-page.js";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { morphPartial } from "../../console/partials.js";
import { listPageUrl } from "../../console/list-page.js";
import { panelQuery } from "../../console/page-query.js";
import type { PanelContext } from "../../console/panels.js";
import { panelContext, type ConsoleDeps, type ConsoleEnv } from "../../console/routes.js";
import { ApiError } from "../../http/errors.js";
import { jsonDepth } from "../../http/json-depth.js";
import { connectBody, connectChannel, disconnectChannel, removeChannel, retryChannel, type CommandResult } from "./commands.js";
import { channelListParams, channelsPanel, renderAnsweredList, renderConnectForm, type ConnectForm } from "./fragments.js";

/**
 * The connect form's settings: a JSON object, or `key=value` lines (blank
 * lines and `#` comments skipped). Returns the object or why it is not one.
 * JSON nesting deeper than `maxDepth` is refused before it is parsed.
 */
export function parseSettings(text: string, maxDepth: number): { ok: true; settings: Record<string, unknown> } | { ok: false; reason: string } {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: true, settings: {} };
  if (trimmed.startsWith("{")) {
    if (jsonDepth(trimmed, maxDepth) > maxDepth) return { ok: false, reason: `Settings nest deeper than ${maxDepth} levels, the limit (MAX_JSON_DEPTH)` };
    try {
      const value: unknown = JSON.parse(trimmed);
      if (value && typeof value === "object" && !Array.isArray(value)) return { ok: true, settings: value as Record<string, unknown> };
    } catch (err) {
      return { ok: false, reason: `Settings are not valid JSON: ${(err as Error).message}` };
    }
    return { ok: false, reason: "Settings in JSON must be an object, like {\"region\": \"eu\"}" };
  }
  const settings: Record<string, unknown> = {};
  for (const [i, raw] of trimmed.split(/\r\n|\r|\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) return { ok: false, reason: `Settings line ${i + 1} is not key=value: "${line.slice(0, 60)}"` };
    settings[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return { ok: true, settings };
}

/** A zod issue as a sentence for the form: "name: Too small…". */
function formReason(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message;
}

const isHtmx = (c: Context) => c.req.header("hx-request") === "true";
const field = (form: Record<string, unknown>, name: string) => (typeof form[name] === "string" ? (form[name] as string) : "");

/** The channels pages and control forms of the console (mounted behind the console's session and CSRF checks). */
export function channelsConsoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  /**
   * The context a form's answer renders in: the list's filters ride on the
   * form's URL (the page's own), so the cards it gets back are the ones the page shows.
   */
  const listContext = (c: Context<ConsoleEnv>): PanelContext => {
    const ctx = panelContext(c, deps);
    return { ...ctx, query: channelListParams(ctx.query) };
  };
  const back = (c: Context<ConsoleEnv>) => listPageUrl(c.req.param("tenant")!, "channels", panelQuery([channelsPanel], c.req.query()));

  /** A refusal: htmx gets the form again with the reason (or the reason alone); a plain post, an error page. */
  const refuse = (c: Context<ConsoleEnv>, status: ContentfulStatusCode, message: string, form?: ConnectForm) => {
    if (isHtmx(c) && form) {
      const html = renderConnectForm(listContext(c), { ...form, error: message });
      return c.html(html, status, { "HX-Retarget": "#channel-connect", "HX-Reswap": "outerHTML" });
    }
    if (isHtmx(c)) return c.text(message, status, { "HX-Reswap": "none" });
    return errorPage(c, deps, status, message);
  };

  /** Connect: the same command as the API's; answers at once while the connection goes on in the background. */
  app.post("/t/:tenant/channels", async (c) => {
    const ctx = listContext(c);
    if (!ctx.canControl) return refuse(c, 403, "Your key has no control scope: it cannot connect channels.");
    const body = await c.req.parseBody();
    const form: ConnectForm = { platform: field(body, "platform"), name: field(body, "name").trim(), settings: field(body, "settings"), error: null };
    const settings = parseSettings(form.settings, deps.maxJsonDepth);
    if (!settings.ok) return refuse(c, 422, settings.reason, form);
    const parsed = connectBody.safeParse({ platform: form.platform, name: form.name, settings: settings.settings });
    if (!parsed.success) return refuse(c, 422, formReason(parsed.error), form);
    try {
      await connectChannel(deps, ctx.tenant!, parsed.data);
    } catch (err) {
      if (err instanceof ApiError) return refuse(c, err.status as ContentfulStatusCode, err.message, form);
      throw err;
    }
    if (!isHtmx(c)) return c.redirect(back(c), 303);
    // A fresh form in place of the one just sent, and the updated cards. The
    // form is the request's target: the card list may be changed by a live
    // update while the request is in flight, and a partial finds it by id.
    const cards = morphPartial("channels-list", renderAnsweredList(ctx, deps.log));
    return c.html(`${renderConnectForm(ctx)}\n${cards}`);
  });

  /** A card's button: the same command as the API's, answered with the cards as they are now. */
  const cardAction = (path: string, verb: string, act: (tenant: string, channel: string) => Promise<CommandResult>) =>
    app.post(`/t/:tenant/channels/:channel/${path}`, async (c) => {
      const ctx = listContext(c);
      if (!ctx.canControl) return refuse(c, 403, `Your key has no control scope: it cannot ${verb} channels.`);
      try {
        await act(ctx.tenant!, c.req.param("channel"));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        // Under htmx the cards as they are now say why (already disconnected, gone…).
        if (isHtmx(c)) return c.html(renderAnsweredList(ctx, deps.log), err.status as ContentfulStatusCode);
        return refuse(c, err.status as ContentfulStatusCode, err.message);
      }
      return isHtmx(c) ? c.html(renderAnsweredList(ctx, deps.log)) : c.redirect(back(c), 303);
    });

  /** Disconnect: a command to the worker holding the connection; the card changes when it confirms. */
  cardAction("disconnect", "disconnect", (tenant, id) => disconnectChannel(deps, tenant, id, {}));
  /** Retry a failed channel (or reconnect a disconnected one): its connect again, as it was set up. */
  cardAction("retry", "retry", (tenant, id) => retryChannel(deps, tenant, id, {}));
  /** Remove a failed or disconnected channel from the hub; its history stays in the log. */
  cardAction("remove", "remove", (tenant, id) => removeChannel(deps, tenant, id, {}));

  return app;
}
