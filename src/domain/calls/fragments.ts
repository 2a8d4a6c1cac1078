import { domId } from "../../console/dom-id.js";
import { descending, listPanel } from "../../console/live-list.js";
import type { PanelContext } from "../../console/panels.js";
import { activeCalls, RECENT_CALLS, recentCalls, type Call, type CallScope } from "./queries.js";

/** Client labels are at most this long (the call events' `client` field). */
export const CLIENT_MAX = 200;

/** The calls a page shows: its tenant's (every tenant's on the admin view), narrowed to one client there. */
const scope = (ctx: PanelContext): CallScope => ({ tenant: ctx.tenant, client: ctx.query.client || null });

/** Calls of every tenant share the admin view: an item is named by its tenant and id. */
const keyOf = (tenant: string, callId: string) => `${tenant}/${callId}`;

/** Where a call sorts in its list: active ones by start, ended ones by end, newest first, then the later event first. */
const order = (c: Call) => `${descending(c.status === "active" ? c.startedAt : (c.endedAt ?? 0))}${descending(c.eventId)}`;

function renderRow(ctx: PanelContext, call: Call): string {
  const id = domId("call", keyOf(call.tenant, call.callId));
  return ctx.views.render("partials/call-row", { call, id, order: order(call), allTenants: ctx.tenant === null });
}

function renderCount(ctx: PanelContext, active = activeCalls(ctx.db, scope(ctx)).length): string {
  return ctx.views.render("partials/calls-count", { active });
}

/** The call panel: active calls with a live duration, and the last 20 ended; each call its own live row. */
export const callsPanel = listPanel<Call>({
  id: "calls",
  topics: ["call"],
  allTenants: true,
  params(query): Record<string, string> {
    const client = query.client?.trim();
    return client && client.length <= CLIENT_MAX ? { client } : {};
  },
  render(ctx) {
    const active = activeCalls(ctx.db, scope(ctx));
    return ctx.views.render("partials/calls-panel", {
      count: renderCount(ctx, active.length),
      active: active.map((c) => renderRow(ctx, c)),
      recent: recentCalls(ctx.db, scope(ctx)).map((c) => renderRow(ctx, c)),
      max: RECENT_CALLS,
    });
  },
  lists: [
    { id: "calls-active", members: (ctx) => activeCalls(ctx.db, scope(ctx)) },
    { id: "calls-recent", members: (ctx) => recentCalls(ctx.db, scope(ctx)), max: RECENT_CALLS },
  ],
  key: (c) => keyOf(c.tenant, c.callId),
  itemId: (key) => domId("call", key),
  item: renderRow,
  eventKey: (e) => (e.subject === null ? null : keyOf(e.tenant, e.subject)),
  parts: [{ id: "calls-count", render: (ctx) => renderCount(ctx) }],
});
