import type { Context } from "hono";
import type { StoredEvent } from "../event.js";
import type { Selector } from "../hub/hub.js";
import { encodeFrame } from "../hub/sse-frame.js";
import type { StreamDeps } from "../http/stream-routes.js";
import { openStream } from "../http/stream-routes.js";
import { ApiError } from "../http/errors.js";
import { feedBatch, renderFeed, type FeedFilter } from "./feed.js";
import { eventsOf, type HistoryPanel, type Panel, type PanelContext } from "./panels.js";
import { morphPartial, replacePartial } from "./partials.js";
import type { Renders, SharedRenders } from "./shared-renders.js";

/**
 * A client this far behind the head gets the page's panels re-rendered from
 * current state instead of every missed event: reconnecting after an hour
 * costs one render, not thousands of fragments.
 */
export const FAR_BEHIND = 200;

/** What a page stream needs: the stream's dependencies and the bound on distinct page groups. */
export interface PageStreamDeps extends StreamDeps {
  maxPageGroupsPerTenant: number;
  /** Renders groups share at one log position (one per app). */
  sharedRenders: SharedRenders;
}

/**
 * The page stream: one SSE connection per console page, unnamed messages
 * whose `<hx-partial>` elements update the page's items. Subscribers with
 * the same tenant, filters and rights share one group (`key`, built from
 * validated filters only), and a group renders once per turn of the event
 * loop for everything published since, after the publishers have their
 * answers: the items those events changed, read from current state, then
 * the feed's new items and folded progress. Its `id:` is the last event's,
 * so a page resumes exactly where that frame left it.
 *
 * A tenant may have `maxPageGroupsPerTenant` groups open; a page that would
 * add one more gets 429: each group costs renders on every event.
 */
export async function openPageStream(
  c: Context,
  deps: PageStreamDeps,
  options: {
    panels: Panel[];
    /** The page's history panel, if it has one: updated after the panels. */
    history?: HistoryPanel;
    ctx: PanelContext;
    /** The page's feed filter; null for a page without a feed. */
    filter: FeedFilter | null;
    position: number | null;
    key: string;
    /** The events this page is about (default: all of the tenant's); others send nothing. */
    match?: (e: StoredEvent) => boolean;
  },
): Promise<Response> {
  const { panels, filter, key } = options;
  const history = options.history ?? null;
  // One render serves every page in the group, so it must carry no session's
  // CSRF token: forms in live partials get theirs from the page's
  // hx-headers (X-CSRF-Token), which htmx sends with every request.
  const ctx: PanelContext = { ...options.ctx, csrf: "" };
  const encodeBatch = (events: readonly StoredEvent[]): string | null => {
    try {
      const parts = renderBatch(panels, history, ctx, filter, events, deps.sharedRenders.at(deps.log.head()));
      return parts.length === 0 ? null : encodeFrame({ id: events[events.length - 1].id, data: parts.join("\n") });
    } catch (err) {
      deps.logger.error("page stream render failed", { group: key, error: String(err) });
      throw err;
    }
  };
  const selector: Selector = {
    tenant: ctx.tenant,
    key,
    match: options.match ?? (() => true),
    encode: (e) => encodeBatch([e]),
    encodeBatch,
  };

  checkGroupRoom(deps, ctx.tenant, key);
  // Far behind (or a stale position): one full render at the head, then live.
  let position = options.position;
  const prologue: string[] = [];
  const head = deps.log.head();
  if (position !== null && (head - position > FAR_BEHIND || position < deps.log.prunedThrough(ctx.tenant) || position > head)) {
    // The panels and the head in one snapshot: the page continues from exactly the state it shows.
    // Panels are morphed (what the operator is doing in them survives); the feed starts over. What is read
    // from the log (the history, the feed) is read at that head after it: nothing above it, all below it.
    const shown = deps.log.atHead(() => panels.map((p) => morphPartial(p.id, p.render(ctx))));
    const all = shown.value;
    if (history) all.push(morphPartial(history.id, await history.render(ctx, deps.log, shown.head)));
    if (filter) all.push(replacePartial("feed-items", await renderFeed(deps.log, ctx, filter, shown.head)));
    prologue.push(encodeFrame({ id: shown.head, data: all.join("\n") }));
    position = shown.head;
  }
  // Again after the await: another page may have opened a group meanwhile. From here to the subscription nothing waits.
  checkGroupRoom(deps, ctx.tenant, key);
  return openStream(c, deps, selector, position, { prologue });
}

/** Throws 429 when opening this group would pass the tenant's bound; joining an open group always fits. */
function checkGroupRoom(deps: PageStreamDeps, tenant: string | null, key: string): void {
  if (deps.hub.hasGroup(tenant, key) || deps.hub.batchGroupCount(tenant) < deps.maxPageGroupsPerTenant) return;
  throw new ApiError(
    429,
    "too_many_page_groups",
    `${tenant === null ? "the all-tenants view" : `tenant ${tenant}`} already has ${deps.maxPageGroupsPerTenant} differently filtered live pages open, the limit; ` +
      "use the filters of an open page, close some, or raise CONSOLE_MAX_PAGE_GROUPS_PER_TENANT",
    undefined,
    { "Retry-After": "30" },
  );
}

/**
 * The `<hx-partial>` parts for a run of events (ascending ids): for each
 * panel they affect, what its `update` sends (the items they changed), or
 * the whole panel morphed for a panel without one; then the history
 * panel's update; then the feed's.
 */
export function renderBatch(
  panels: readonly Panel[],
  history: HistoryPanel | null,
  ctx: PanelContext,
  filter: FeedFilter | null,
  events: readonly StoredEvent[],
  renders: Renders,
): string[] {
  const parts: string[] = [];
  for (const panel of panels) {
    const own = eventsOf(panel, events);
    if (own.length === 0) continue;
    if (panel.update) parts.push(...renders.update(panel, ctx, own));
    else if (panel.changedBy?.(ctx, own) ?? true) parts.push(morphPartial(panel.id, renders.panel(panel, ctx)));
  }
  if (history) {
    const own = eventsOf(history, events);
    if (own.length > 0) parts.push(...renders.update(history, ctx, own));
  }
  if (filter) parts.push(...feedBatch(ctx, filter, events, renders.feed(ctx, filter)));
  return parts;
}
