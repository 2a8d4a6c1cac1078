import { domId } from "../../console/dom-id.js";
import { CURSOR_PARAM, cursorParam, listPageRoutes, parseCursor, renderPager, renderSearch, renderTabs, searchParam } from "../../console/list-page.js";
import { descending, descendingText, listPanel } from "../../console/live-list.js";
import { queryString } from "../../console/page-query.js";
import type { PanelContext } from "../../console/panels.js";
import type { EventLog } from "../../store/event-log.js";
import { CHANNEL_PAGE, channelCounts, channelPage, type ChannelListFilter } from "./list.js";
import type { Channel } from "./queries.js";
import { CHANNEL_STATES, type ChannelState } from "./schema.js";

/** The platforms the connect form offers (any lower-case name is accepted over the API). */
export const PLATFORMS = ["whatsapp", "telegram", "slack", "sms", "email", "webchat"] as const;

/** The list's path under /t/:tenant, and its parts' ids. */
const PATH = "channels";
const LIST = "channels-list";
const CARDS = "channels-cards";
const TABS = "channel-tabs";
const PAGER = "channels-pager";

/** What the connect form shows: the operator's values and why they were refused, or a fresh form. */
export interface ConnectForm {
  platform: string;
  name: string;
  settings: string;
  error: string | null;
}

export const freshConnectForm: ConnectForm = { platform: "whatsapp", name: "", settings: "", error: null };

/** The list's filter from the page's query: `state`, `q`, `before`; anything else is ignored. */
export function channelListFilter(query: Record<string, string | undefined>): ChannelListFilter {
  const state = (CHANNEL_STATES as readonly string[]).includes(query.state ?? "") ? (query.state as ChannelState) : null;
  return { state, q: searchParam(query.q), before: parseCursor(query[CURSOR_PARAM]) };
}

/** The list's validated filters (what its page and stream render from). */
export function channelListParams(query: Record<string, string | undefined>): Record<string, string> {
  const { state, q } = channelListFilter(query);
  return { ...(state && { state }), ...(q && { q }), ...cursorParam(query) };
}

/** A path of the channels list with the page's filters, so that an answer to a form renders the list the page shows. */
const withFilters = (path: string, ctx: PanelContext) => {
  const q = queryString(channelListParams(ctx.query));
  return q ? `${path}?${q}` : path;
};

/** The connect form (#channel-connect), outside the live card list so typing is never replaced. */
export function renderConnectForm(ctx: PanelContext, form: ConnectForm = freshConnectForm): string {
  const action = withFilters(`/t/${encodeURIComponent(ctx.tenant!)}/channels`, ctx);
  return ctx.views.render("partials/channel-connect", { action, csrf: ctx.csrf, platforms: PLATFORMS, form });
}

const pageOf = (ctx: PanelContext) => channelPage(ctx.db, ctx.tenant!, channelListFilter(ctx.query));

/** One channel's card, where the list sorts it: newest first connected first. */
function renderCard(ctx: PanelContext, channel: Channel): string {
  return ctx.views.render("partials/channel-card", {
    tenant: ctx.tenant,
    channel,
    id: domId("channel", channel.channelId),
    order: `${descending(channel.createdAt)}${descendingText(channel.channelId)}`,
    query: queryString(channelListParams(ctx.query)),
    canControl: ctx.canControl,
    csrf: ctx.csrf,
  });
}

const renderTabsPart = (ctx: PanelContext) => renderTabs(ctx, PATH, TABS, "state", channelCounts(ctx.db, ctx.tenant!));

/** The card list (#channels-list): the state tabs, a page of cards, and the pager; `version`, the log position it shows. */
function renderList(ctx: PanelContext, version?: number): string {
  const page = pageOf(ctx);
  const filter = channelListFilter(ctx.query);
  return ctx.views.render("partials/channels-list", {
    id: LIST,
    version,
    cardsId: CARDS,
    max: CHANNEL_PAGE,
    tabs: renderTabsPart(ctx),
    cards: page.rows.map((c) => renderCard(ctx, c)),
    empty: filter.q || filter.state ? "No channels match." : `No channels yet.${ctx.canControl ? " Connect one below." : ""}`,
    pager: renderPager(ctx, PATH, page.older, PAGER),
  });
}

/** Every event that changes a channel's state: on a state's tab, it may leave the list. */
const STATE_CHANGES = ["channel.connect_requested", "channel.connected", "channel.failed", "channel.disconnected", "channel.removed"];

/**
 * The channel hub: state tabs with live counts, a search, and pages of 50
 * cards (newest first), each with its state and connection stepper, its
 * own live item; the connect form under them.
 */
export const channelsPanel = listPanel<Channel>({
  id: LIST,
  topics: ["channel"],
  params: channelListParams,
  render: renderList,
  page: (ctx) =>
    ctx.views.render("partials/channels-panel", {
      search: renderSearch(ctx, PATH, LIST, { label: "Search channels", placeholder: "Name, id or platform" }),
      canControl: ctx.canControl,
      form: ctx.canControl ? renderConnectForm(ctx) : "",
      list: renderList(ctx),
    }),
  lists: [{ id: CARDS, members: (ctx) => pageOf(ctx).rows, max: CHANNEL_PAGE, leaves: STATE_CHANGES }],
  key: (c) => c.channelId,
  itemId: (key) => domId("channel", key),
  item: renderCard,
  parts: [
    { id: TABS, render: renderTabsPart },
    { id: PAGER, render: (ctx) => renderPager(ctx, PATH, pageOf(ctx).older, PAGER) },
  ],
});

/**
 * The card list as an answer to a press or the connect form: read at a known
 * log position, and marked with it (public/console.js). The answer can reach
 * the page after its stream has shown later events; morphed whole, it would
 * take out the cards they added, so a page already past it keeps what it has.
 */
export function renderAnsweredList(ctx: PanelContext, log: Pick<EventLog, "atHead">): string {
  return log.atHead((head) => renderList(ctx, head)).value;
}

/** The channels list as its own page, /t/:tenant/channels. */
export const channelsListPage = listPageRoutes({
  path: PATH,
  title: "Channels",
  lede: "Every channel the hub connects, newest first, with its connection live. Failed ones can be retried or removed.",
  panel: channelsPanel,
});
