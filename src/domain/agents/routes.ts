import { Hono } from "hono";
import { requireKey } from "../../http/auth.js";
import type { AppEnv } from "../../http/env.js";
import { ApiError } from "../../http/errors.js";
import { parsePosition } from "../../http/position.js";
import { openStream } from "../../http/stream-routes.js";
import { jsonFrame } from "../../hub/json-frame.js";
import { describeBinding, workerMatcher } from "../../worker-binding.js";
import type { DomainDeps } from "../domain.js";
import { rowJson } from "../json.js";
import { findAgent, listAgents } from "./queries.js";
import { AGENT_STATUSES, type AgentStatus } from "./schema.js";

const ID = /^[^\u0000-\u001f\u007f]{1,200}$/;
const KIND = /^[a-z0-9][a-z0-9_-]{0,99}$/;

/** Agent state, and the workers' command streams whose connections are their presence. */
export function agentsRoutes(deps: DomainDeps) {
  const app = new Hono<AppEnv>();
  const read = requireKey(deps, "read");

  app.get("/api/v1/tenants/:tenant/agents", read, (c) => {
    const status = c.req.query("status");
    if (status !== undefined && !(AGENT_STATUSES as readonly string[]).includes(status)) {
      throw new ApiError(400, "invalid_filter", `status must be one of ${AGENT_STATUSES.join(", ")}`);
    }
    const { head, value: agents } = deps.log.atHead(() => listAgents(deps.db, c.req.param("tenant"), status as AgentStatus | undefined));
    return c.json({ head, agents: agents.map(rowJson) });
  });

  app.get("/api/v1/tenants/:tenant/agents/:agent", read, (c) => {
    const { head, value: agent } = deps.log.atHead(() => findAgent(deps.db, c.req.param("tenant"), c.req.param("agent")));
    if (!agent) throw new ApiError(404, "not_found", `no agent "${c.req.param("agent")}"`);
    return c.json({ head, agent: rowJson(agent) });
  });

  /**
   * A worker's commands: only those addressed to it (`worker`) or to a kind
   * it declares (`?kinds=channels,workflows`), resumable like every stream.
   * Holding it open is the worker's presence, which appends agent.connected
   * and agent.disconnected: it needs the work scope, and a key bound to
   * workers may hold only their streams. Kinds are not bound: receiving a
   * command grants nothing, and the answer is held to the binding.
   */
  app.get("/api/v1/tenants/:tenant/workers/:worker/commands", requireKey(deps, "work"), (c) => {
    const tenant = c.req.param("tenant");
    const worker = c.req.param("worker");
    if (!ID.test(worker)) throw new ApiError(400, "invalid_worker", "the worker id must be 1 to 200 characters without control characters");
    const { workers } = c.get("key");
    if (!workerMatcher(workers)(worker)) {
      throw new ApiError(403, "forbidden", `this key may speak only for workers ${describeBinding(workers!)}, not for "${worker}"`);
    }
    const kinds = [...new Set((c.req.query("kinds") ?? "").split(",").map((k) => k.trim()).filter(Boolean))].sort();
    const badKind = kinds.find((k) => !KIND.test(k));
    if (badKind !== undefined) throw new ApiError(400, "invalid_filter", `kinds: "${badKind}" is not a kind (lower-case letters, digits, "_" and "-")`);
    const position = parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ?? parsePosition(c.req.query("after"), "after");
    const kindSet = new Set(kinds);
    const response = openStream(
      c,
      deps,
      {
        tenant,
        key: `commands|${worker}|${kinds.join(",")}`,
        match: (e) => {
          if (!deps.domains.isCommand(e.type)) return false;
          const target = JSON.parse(e.data) as { worker?: string; kind?: string };
          return target.worker === worker || (target.kind !== undefined && kindSet.has(target.kind));
        },
        encode: jsonFrame,
        narrow: { types: deps.domains.commandTypes(), subject: null },
      },
      position,
      { onClose: () => deps.presence.closed(tenant, worker) },
    );
    deps.presence.opened(tenant, worker);
    return response;
  });

  return app;
}
