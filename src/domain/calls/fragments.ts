import type { Panel } from "../../console/panels.js";
import { activeCalls, recentCalls } from "./queries.js";

/** Client labels are at most this long (the call events' `client` field). */
export const CLIENT_MAX = 200;

/** The call panel: active calls with a live duration, and the last 20 ended. */
export const callsPanel: Panel = {
  id: "calls",
  topics: ["call"],
  allTenants: true,
  params(query): Record<string, string> {
    const client = query.client?.trim();
    return client && client.length <= CLIENT_MAX ? { client } : {};
  },
  render(ctx) {
    // The admin view across tenants can narrow to one client.
    const client = ctx.query.client || null;
    const scope = { tenant: ctx.tenant, client };
    return ctx.views.render("partials/calls-panel", {
      active: activeCalls(ctx.db, scope),
      recent: recentCalls(ctx.db, scope),
      allTenants: ctx.tenant === null,
    });
  },
};
