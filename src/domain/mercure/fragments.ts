import { domId } from "../../console/dom-id.js";
import { CURSOR_PARAM, cursorParam, parseCursor, renderPager } from "../../console/list-page.js";
import { descending, listPanel } from "../../console/live-list.js";
import type { PanelContext } from "../../console/panels.js";
import { MERCURE_UPDATE, updateOf } from "../../mercure/update.js";
import { TOPICS_PAGE, topicsPage, type MercureTopic } from "./queries.js";

/** The page's path under /t/:tenant, and its parts' ids. */
export const MERCURE_PATH = "mercure";
const LIST = "mercure-topics";
const ROWS = "mercure-topic-rows";
const PAGER = "mercure-topics-pager";

/** The page of topics `?before=` names (the previous page's last: its last publish time and event id). */
const pageOf = (ctx: PanelContext) => topicsPage(ctx.db, ctx.tenant!, parseCursor(ctx.query[CURSOR_PARAM]));

/** Where a topic sorts: most recently published first. */
const order = (t: MercureTopic) => `${descending(t.lastPublishedAt)}${descending(t.lastEventId)}`;

/** One topic's row (`mercure-topic-…`): its update count and last update. */
function renderRow(ctx: PanelContext, topic: MercureTopic): string {
  return ctx.views.render("partials/mercure-topic-row", { topic, id: domId("mercure-topic", topic.topic), order: order(topic) });
}

const renderPagerOf = (ctx: PanelContext, older = pageOf(ctx).older) => renderPager(ctx, MERCURE_PATH, older, PAGER);

/** The list (#mercure-topics): a page of topics and its pager. */
function renderList(ctx: PanelContext): string {
  const { rows, older } = pageOf(ctx);
  return ctx.views.render("partials/mercure-topics", {
    id: LIST,
    rowsId: ROWS,
    max: TOPICS_PAGE,
    rows: rows.map((t) => renderRow(ctx, t)),
    pager: renderPagerOf(ctx, older),
  });
}

/**
 * A tenant's Mercure topics, most recently published first, 50 a page:
 * each its own live row, moved to the top by its next update. An older
 * page loses a topic that is published on again (it moves to the first
 * page) and refills from its tail.
 */
export const mercureTopicsPanel = listPanel<MercureTopic>({
  id: LIST,
  topics: ["mercure"],
  params: cursorParam,
  render: renderList,
  lists: [{ id: ROWS, members: (ctx) => pageOf(ctx).rows, max: TOPICS_PAGE, leaves: [MERCURE_UPDATE] }],
  key: (t) => t.topic,
  // An update is counted on its canonical topic alone (see projection.ts).
  eventKey: (e) => updateOf(e)?.topics[0] ?? null,
  itemId: (topic) => domId("mercure-topic", topic),
  item: renderRow,
  parts: [{ id: PAGER, render: (ctx) => renderPagerOf(ctx) }],
});
