import { domId } from "../../console/dom-id.js";
import { ascending, listPanel } from "../../console/live-list.js";
import type { PanelContext } from "../../console/panels.js";
import { listChannels, type Channel } from "./queries.js";

/** The platforms the connect form offers (any lower-case name is accepted over the API). */
export const PLATFORMS = ["whatsapp", "telegram", "slack", "sms", "email", "webchat"] as const;

/** What the connect form shows: the operator's values and why they were refused, or a fresh form. */
export interface ConnectForm {
  platform: string;
  name: string;
  settings: string;
  error: string | null;
}

export const freshConnectForm: ConnectForm = { platform: "whatsapp", name: "", settings: "", error: null };

/** The connect form (#channel-connect), outside the live card list so typing is never replaced. */
export function renderConnectForm(ctx: PanelContext, form: ConnectForm = freshConnectForm): string {
  return ctx.views.render("partials/channel-connect", { tenant: ctx.tenant, csrf: ctx.csrf, platforms: PLATFORMS, form });
}

const channelsOf = (ctx: PanelContext): Channel[] => (ctx.tenant ? listChannels(ctx.db, ctx.tenant) : []);

/** One channel's card; cards keep the order channels were first connected in. */
function renderCard(ctx: PanelContext, channel: Channel): string {
  return ctx.views.render("partials/channel-card", {
    tenant: ctx.tenant,
    channel,
    id: domId("channel", channel.channelId),
    order: `${ascending(channel.createdAt)}${channel.channelId}`,
    canControl: ctx.canControl,
    csrf: ctx.csrf,
  });
}

/** The card list (#channels-list): one card per channel, in the order they were first connected. */
function renderList(ctx: PanelContext): string {
  return ctx.views.render("partials/channels-list", { canControl: ctx.canControl, cards: channelsOf(ctx).map((c) => renderCard(ctx, c)) });
}

/** The channel hub: a card per channel with its state and connection stepper, each its own live item, and the connect form. */
export const channelsPanel = listPanel<Channel>({
  id: "channels-list",
  topics: ["channel"],
  render: renderList,
  page: (ctx) =>
    ctx.views.render("partials/channels-panel", { canControl: ctx.canControl, form: ctx.canControl ? renderConnectForm(ctx) : "", list: renderList(ctx) }),
  lists: [{ id: "channels-cards", members: channelsOf }],
  key: (c) => c.channelId,
  itemId: (key) => domId("channel", key),
  item: renderCard,
});
