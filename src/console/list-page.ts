import { Hono } from "hono";
import { parsePosition } from "../http/position.js";
import type { Cursor } from "../store/keyset.js";
import { topicOf } from "../domain/registry.js";
import { openPageStream } from "./live.js";
import { panelQuery, queryString, type PageQuery } from "./page-query.js";
import type { Panel, PanelContext } from "./panels.js";
import { replacePartial } from "./partials.js";
import { type ConsoleDeps, type ConsoleEnv, layoutData, panelContext } from "./routes.js";

/**
 * A list on its own page, as operators know them from Sidekiq, Oban Web or
 * Temporal: one panel whose filters and page live in the URL, read newest
 * first by keyset (`?before=` names the last row of the previous page), and
 * kept live by its own page stream.
 */
export interface ListPage {
  /** Its path under /t/:tenant, one segment ("calls"). */
  path: string;
  /** The page's heading. */
  title: string;
  /** A line under the heading saying what the list holds. */
  lede?: string;
  /**
   * The list: its `params` are the page's filters, cursor included (see
   * `cursorParam`), its `page` the frame with the filter form, its `render`
   * what a filter change or a live update replaces. Its topics choose the
   * events its stream renders for.
   */
  panel: Panel;
}

/** The query parameter naming where a page starts: the cursor of the previous page's last row. */
export const CURSOR_PARAM = "before";

const CURSOR_TEXT = /^(\d{1,15})\.([\s\S]{1,200})$/;

/** A cursor from its URL text (`<at>.<id>`); null when absent or malformed, which reads as the first page. */
export function parseCursor(text: string | undefined): Cursor | null {
  const m = text === undefined ? null : CURSOR_TEXT.exec(text);
  return m ? { at: Number(m[1]), id: m[2] } : null;
}

export const cursorText = (cursor: Cursor): string => `${cursor.at}.${cursor.id}`;

/** The cursor as a page's validated parameter (for `Panel.params`): left out when absent or malformed. */
export function cursorParam(query: Record<string, string | undefined>): Record<string, string> {
  const cursor = parseCursor(query[CURSOR_PARAM]);
  return cursor ? { [CURSOR_PARAM]: cursorText(cursor) } : {};
}

/** The URL of a list page with these filters. */
export function listPageUrl(tenant: string, path: string, query: PageQuery = {}): string {
  const q = queryString(query);
  return `/t/${encodeURIComponent(tenant)}/${path}${q ? `?${q}` : ""}`;
}

/** The stream of a list page: under /live/, so no id of the list's items can shadow it. */
function listLiveUrl(tenant: string, path: string, query: PageQuery, head: number): string {
  const q = queryString(query);
  return `/t/${encodeURIComponent(tenant)}/live/${path}?${q ? `${q}&` : ""}after=${head}`;
}

/**
 * The pager under a list: back to the newest rows, and on to the older page
 * when there is one. Links keep the page's other filters.
 */
export function renderPager(ctx: PanelContext, path: string, older: Cursor | null, id = `${path}-pager`): string {
  const { [CURSOR_PARAM]: current, ...filters } = pageFilters(ctx.query);
  return ctx.views.render("partials/pager", {
    id,
    newest: current ? listPageUrl(ctx.tenant!, path, filters) : null,
    older: older ? listPageUrl(ctx.tenant!, path, { ...filters, [CURSOR_PARAM]: cursorText(older) }) : null,
  });
}

/** One tab of a list page: a value of its filter (null: every value), how many items have it, and whether it is the page's. */
export interface ListTab {
  label: string;
  href: string;
  count: number;
  current: boolean;
}

/**
 * The tabs above a list, one per value of its `param` (a state, a status)
 * and "All", each with its count: links that keep the page's other filters
 * and start from the newest page. Rendered with the list's id (`id`) as a
 * live part: counts change as items do.
 */
export function renderTabs(ctx: PanelContext, path: string, id: string, param: string, counts: Record<string, number>): string {
  const { [CURSOR_PARAM]: _cursor, [param]: current, ...filters } = pageFilters(ctx.query);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const tabs: ListTab[] = [
    { label: "All", href: listPageUrl(ctx.tenant!, path, filters), count: total, current: current === undefined },
    ...Object.entries(counts).map(([value, count]) => ({
      label: value,
      href: listPageUrl(ctx.tenant!, path, { ...filters, [param]: value }),
      count,
      current: current === value,
    })),
  ];
  return ctx.views.render("partials/list-tabs", { id, tabs });
}

/**
 * The search box above a list (`q`), typed into without reloading: htmx
 * asks the page for the list alone (`target`, outside which the form
 * sits, so a live update never touches what is typed). The page's other
 * filters go with it, its cursor not: a new search starts from the newest.
 */
export function renderSearch(ctx: PanelContext, path: string, target: string, text: { label: string; placeholder: string }): string {
  const { [CURSOR_PARAM]: _cursor, q, ...filters } = pageFilters(ctx.query);
  return ctx.views.render("partials/list-search", { action: listPageUrl(ctx.tenant!, path), target, keep: Object.entries(filters), q, ...text });
}

/** A search text from the URL: trimmed, at most 100 characters; none when blank. */
export const searchParam = (text: string | undefined): string | null => text?.trim().slice(0, 100) || null;

/** The page's query as its panel validated it: what a render of it read (ctx.query on list pages holds only these). */
const pageFilters = (query: Record<string, string | undefined>): PageQuery =>
  Object.fromEntries(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));

/**
 * The routes of a list page: the page itself (for an htmx request from its
 * filter form, the list alone and the stream reconnected with the new
 * filters from that same head), and its stream.
 */
export function listPageRoutes(page: ListPage) {
  const { path, panel } = page;
  const panels = [panel];
  const match = (e: { type: string }) => panel.topics.includes(topicOf(e.type));
  return (deps: ConsoleDeps) => {
    const app = new Hono<ConsoleEnv>();

    app.get(`/t/:tenant/${path}`, (c) => {
      const tenant = c.req.param("tenant");
      const query = panelQuery(panels, c.req.query());
      const ctx = { ...panelContext(c, deps), query };
      const htmx = c.req.header("hx-request") === "true";
      // The list and the head in one snapshot, then the stream starts exactly there.
      const { head, value: html } = deps.log.atHead(() => (htmx || !panel.page ? panel.render(ctx) : panel.page(ctx)));
      const liveUrl = listLiveUrl(tenant, path, query, head);
      if (htmx) {
        const live = replacePartial("page-live", deps.views.render("partials/page-live", { url: liveUrl }));
        return c.html(`${html}\n${live}`, 200, { "HX-Push-Url": listPageUrl(tenant, path, query) });
      }
      return c.html(deps.views.render("pages/list", { ...layoutData(c, deps), heading: page.title, lede: page.lede, html, head, liveUrl }));
    });

    app.get(`/t/:tenant/live/${path}`, (c) => {
      const query = panelQuery(panels, c.req.query());
      const ctx = { ...panelContext(c, deps), query };
      const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
      // Rendered from validated filters alone: one group serves every URL that shows the same list.
      const key = `list|${path}|${ctx.tenant}|${queryString(query)}|${ctx.canControl ? "c" : "r"}`;
      return openPageStream(c, deps, { panels, ctx, filter: null, position, key, match });
    });

    return app;
  };
}
