import { domId } from "../../console/dom-id.js";
import { descending, listPanel } from "../../console/live-list.js";
import type { PanelContext } from "../../console/panels.js";
import { activeCalls, RECENT_CALLS, recentCalls, type Call, type CallScope } from "./queries.js";

/** Client labels are at most this long (the call events' `client` field). */
export const CLIENT_MAX = 200;

/** The calls a page shows: its tenant's (every tenant's on the admin view), narrowed to one client there. */
const scope = (ctx: PanelContext): CallScope => ({ tenant: ctx.tenant, client: ctx.query.client || null });

/** Calls of every tenant share the admin view: an item is named by its tenant and id. */
export const keyOf = (tenant: string, callId: string) => `${tenant}/${callId}`;

/** Where a call sorts in its list: active ones by start, ended ones by end, newest first, then the later event first. */
const order = (c: Call) => `${descending(c.status === "active" ? c.startedAt : (c.endedAt ?? 0))}${descending(c.eventId)}`;

/** A call's live row (`call-<tenant>/<id>`), the same element id wherever it is listed. */
export const callRowId = (tenant: string, callId: string): string => domId("call", keyOf(tenant, callId));

/** One call's row: `order` is where it sorts in its list; `started` shows its start time (the calls list). */
export function renderCallRow(ctx: PanelContext, call: Call, options: { order: string; started?: boolean }): string {
  return ctx.views.render("partials/call-row", { call, id: callRowId(call.tenant, call.callId), ...options, allTenants: ctx.tenant === null });
}

const renderRow = (ctx: PanelContext, call: Call): string => renderCallRow(ctx, call, { order: order(call) });

function renderCount(ctx: PanelContext, active = activeCalls(ctx.db, scope(ctx)).length): string {
  return ctx.views.render("partials/calls-count", { active });
}

/**
 * The call panel of the admin's all-tenants view: active calls with a live
 * duration, and the last 20 ended; each call its own live row. (A tenant's
 * calls have their own list page: see list.ts.)
 */
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
