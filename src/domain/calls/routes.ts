import { Hono } from "hono";
import { requireKey } from "../../http/auth.js";
import type { AppEnv } from "../../http/env.js";
import { ApiError } from "../../http/errors.js";
import type { DomainDeps } from "../domain.js";
import { rowJson } from "../json.js";
import { activeCalls, findCall, recentCalls, type CallScope } from "./queries.js";
import { retellRoutes } from "./retell.js";

/**
 * The call panel's state: active calls and the last ended ones, per tenant
 * or (admin) across all; and the voice provider's webhooks that feed it.
 */
export function callsRoutes(deps: DomainDeps) {
  const app = new Hono<AppEnv>();
  const panel = (scope: CallScope) => {
    const { head, value } = deps.log.atHead(() => ({ active: activeCalls(deps.db, scope), recent: recentCalls(deps.db, scope) }));
    return { head, active: value.active.map(rowJson), recent: value.recent.map(rowJson) };
  };

  app.get("/api/v1/tenants/:tenant/calls", requireKey(deps, "read"), (c) =>
    c.json(panel({ tenant: c.req.param("tenant"), client: c.req.query("client") })),
  );

  app.get("/api/v1/tenants/:tenant/calls/:call", requireKey(deps, "read"), (c) => {
    const { head, value: call } = deps.log.atHead(() => findCall(deps.db, c.req.param("tenant"), c.req.param("call")));
    if (!call) throw new ApiError(404, "not_found", `no call "${c.req.param("call")}"`);
    return c.json({ head, call: rowJson(call) });
  });

  app.get("/api/v1/calls", requireKey(deps, "read", { adminOnly: true }), (c) =>
    c.json(panel({ tenant: c.req.query("tenant") ?? null, client: c.req.query("client") })),
  );

  app.route("/", retellRoutes(deps));

  return app;
}
