import type { Context } from "hono";
import type { StoredEvent } from "../event.js";
import type { Selector } from "../hub/hub.js";
import { encodeFrame } from "../hub/sse-frame.js";
import type { StreamDeps } from "../http/stream-routes.js";
import { openStream } from "../http/stream-routes.js";
import { feedMatches, renderFeed, renderFeedItem, type FeedFilter } from "./feed.js";
import { panelsFor, replacePartial, type Panel, type PanelContext } from "./panels.js";

/**
 * A client this far behind the head gets the page's panels re-rendered from
 * current state instead of every missed event: reconnecting after an hour
 * costs one render, not thousands of fragments.
 */
export const FAR_BEHIND = 200;

/**
 * The page stream: one SSE connection per console page, unnamed messages
 * whose `<hx-partial>` elements update any panel. Each event becomes the
 * panels it affects, re-rendered from current state, plus its feed item
 * when it passes the page's filter. Subscribers with the same tenant,
 * filter and rights share one group, so each event renders once for all.
 */
export async function openPageStream(
  c: Context,
  deps: StreamDeps,
  options: {
    panels: Panel[];
    ctx: PanelContext;
    /** The page's feed filter; null for a page without a feed. */
    filter: FeedFilter | null;
    position: number | null;
    key: string;
    /** The events this page is about (default: all of the tenant's); others send nothing. */
    match?: (e: StoredEvent) => boolean;
  },
): Promise<Response> {
  const { panels, filter } = options;
  // One render serves every page in the group, so it must carry no session's
  // CSRF token: forms in live partials get theirs from the page's
  // hx-headers (X-CSRF-Token), which htmx sends with every request.
  const ctx: PanelContext = { ...options.ctx, csrf: "" };
  const encode = (e: StoredEvent): string | null => {
    let data: Record<string, unknown> | undefined;
    const parts = panelsFor(panels, e)
      .map((p) => (p.update ? p.update(ctx, e) : replacePartial(p.id, p.render(ctx))))
      .filter((part): part is string => !!part);
    if (filter && feedMatches(filter, e, () => (data ??= JSON.parse(e.data)))) {
      parts.push(`<hx-partial hx-target="#feed-items" hx-swap="afterbegin">${renderFeedItem(ctx.views, e, ctx.tenant === null)}</hx-partial>`);
    }
    return parts.length === 0 ? null : encodeFrame({ id: e.id, data: parts.join("\n") });
  };
  const selector: Selector = { tenant: ctx.tenant, key: options.key, match: options.match ?? (() => true), encode };

  // Far behind (or a stale position): one full render at the head, then live.
  const head = deps.log.head();
  let position = options.position;
  const prologue: string[] = [];
  if (position !== null && (head - position > FAR_BEHIND || position < deps.log.prunedThrough(ctx.tenant) || position > head)) {
    const all = panels.map((p) => replacePartial(p.id, p.render(ctx)));
    if (filter) all.push(replacePartial("feed-items", await renderFeed(deps.log, ctx, filter, head)));
    prologue.push(encodeFrame({ id: head, data: all.join("\n") }));
    position = head;
  }
  return openStream(c, deps, selector, position, { prologue });
}
