import type { Panel } from "../../console/panels.js";
import { activeCalls, recentCalls } from "./queries.js";

/** The call panel: active calls with a live duration, and the last 20 ended. */
export const callsPanel: Panel = {
  id: "calls",
  topics: ["call"],
  allTenants: true,
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
