import type { Panel, PanelContext } from "../../console/panels.js";
import { listChannels } from "./queries.js";

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

/** The card list (#channels-list): one card per channel, in the order they were first connected. */
function renderList(ctx: PanelContext): string {
  const channels = ctx.tenant ? listChannels(ctx.db, ctx.tenant) : [];
  return ctx.views.render("partials/channels-list", { tenant: ctx.tenant, channels, canControl: ctx.canControl, csrf: ctx.csrf });
}

/** The channel hub: a card per channel with its state and connection stepper, and the connect form. */
export const channelsPanel: Panel = {
  id: "channels-list",
  topics: ["channel"],
  render: renderList,
  page: (ctx) =>
    ctx.views.render("partials/channels-panel", { canControl: ctx.canControl, form: ctx.canControl ? renderConnectForm(ctx) : "", list: renderList(ctx) }),
};
