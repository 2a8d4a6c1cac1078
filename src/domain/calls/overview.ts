import { and, eq } from "drizzle-orm";
import { cappedCount } from "../../console/overview-count.js";
import { tenantPath, type OverviewSource } from "../../console/overview.js";
import { TENANT } from "../../store/prepared.js";
import { calls } from "./schema.js";

const activeCalls = cappedCount(calls, and(eq(calls.tenant, TENANT), eq(calls.status, "active")));

/** Calls on the overview: how many are active now (calls_tenant_status_ended_idx). Nothing about a call needs attention. */
export const callsOverview: OverviewSource = {
  topics: ["call"],
  tile(db, tenant) {
    const list = `${tenantPath(tenant)}/calls`;
    return { id: "calls", title: "Calls", href: list, counts: [{ label: "active", count: activeCalls(db, { tenant }), href: `${list}?status=active` }] };
  },
  // A summary or sentiment arriving changes no call's status.
  quiet: (_db, e) => e.type === "call.analyzed",
};
