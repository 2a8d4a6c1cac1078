import { domId } from "../../console/dom-id.js";
import { descending, listPanel } from "../../console/live-list.js";
import { renderPager } from "../../console/list-page.js";
import type { PanelContext } from "../../console/panels.js";
import type { StoredEvent } from "../../event.js";
import { callFilter, callParams, CALL_DIRECTIONS, CALL_STATUSES } from "./filter.js";
import { keyOf, renderCallRow } from "./fragments.js";
import { CALLS_PAGE, callsPage, type ListedCall } from "./queries.js";

/** The calls list's path under /t/:tenant. */
export const CALLS_PATH = "calls";

const page = (ctx: PanelContext) => callsPage(ctx.db, ctx.tenant!, callFilter(ctx.query));

/** Where a row sorts: as the list reads, newest start first, then the later-created row. */
const order = (c: ListedCall) => `${descending(c.startedAt)}${descending(c.seq)}`;

const renderRow = (ctx: PanelContext, c: ListedCall) => renderCallRow(ctx, c, { order: order(c), started: true });

const renderPagerOf = (ctx: PanelContext, older = page(ctx).older) => renderPager(ctx, CALLS_PATH, older, "calls-pager");

/** The list (#calls-list): a page of rows and its pager. */
function renderList(ctx: PanelContext): string {
  const { rows, older } = page(ctx);
  const f = callFilter(ctx.query);
  return ctx.views.render("partials/calls-list", {
    rows: rows.map((c) => renderRow(ctx, c)),
    max: CALLS_PAGE,
    pager: renderPagerOf(ctx, older),
    filtered: Object.keys(ctx.query).some((k) => k !== "before"),
    deep: f.cursor !== null,
  });
}

/**
 * A tenant's calls, newest first, 50 a page, filtered by the URL; each
 * call its own live row. Page 1 takes calls as they start (at the top,
 * the last row leaving for page 2); an older page holds still, its rows
 * updating in place. The filter form sits in the page's frame, outside
 * #calls-list, so a live update never touches what is being typed.
 */
export const callsListPanel = listPanel<ListedCall>({
  id: "calls-list",
  topics: ["call"],
  params: callParams,
  render: renderList,
  page(ctx) {
    const f = callFilter(ctx.query);
    // A datetime-local input shows a day alone as nothing: the day's first, or last, minute.
    const minute = (text: string | undefined, end: string) => (text === undefined ? "" : text.length === 10 ? `${text}T${end}` : text.slice(0, 16));
    const form = { ...f, from: minute(ctx.query.from, "00:00"), to: minute(ctx.query.to, "23:59") };
    return ctx.views.render("partials/calls-filter", { tenant: ctx.tenant, f: form, statuses: CALL_STATUSES, directions: CALL_DIRECTIONS, list: renderList(ctx) });
  },
  lists: [{ id: "calls-rows", members: (ctx) => page(ctx).rows, max: CALLS_PAGE, leaves: ["call.ended"] }],
  key: (c) => keyOf(c.tenant, c.callId),
  eventKey: (e: StoredEvent) => (e.subject === null ? null : keyOf(e.tenant, e.subject)),
  itemId: (key) => domId("call", key),
  item: renderRow,
  parts: [{ id: "calls-pager", render: (ctx) => renderPagerOf(ctx) }],
});
