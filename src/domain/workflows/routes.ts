import { Hono } from "hono";
import { z } from "zod";
import { requireKey } from "../../http/auth.js";
import { commandBodyLimit, readBody } from "../../http/command-body.js";
import { limitRate } from "../../http/rate-limit.js";
import type { AppEnv } from "../../http/env.js";
import { ApiError } from "../../http/errors.js";
import { parseLimit } from "../../http/limit.js";
import type { DomainDeps } from "../domain.js";
import { rowJson } from "../json.js";
import { requestControl } from "./commands.js";
import { controlReason } from "./events.js";
import { DEFAULT_LIST, findWorkflow, listWorkflows, MAX_LIST } from "./queries.js";
import { CONTROL_ACTIONS, WORKFLOW_STATES, type WorkflowState } from "./schema.js";

/** What a control's body may hold: a cancel's reason; the other controls take nothing (an empty body or `{}`). */
const CONTROL_BODIES = {
  pause: z.strictObject({}),
  resume: z.strictObject({}),
  cancel: z.strictObject({ reason: controlReason.optional() }),
  retry: z.strictObject({}),
} as const;

/** Workflow state, and the operator controls (pause, resume, cancel, retry) that become commands to the worker. */
export function workflowsRoutes(deps: DomainDeps) {
  const app = new Hono<AppEnv>();
  const read = requireKey(deps, "read");
  const control = requireKey(deps, "control");
  // Commands are events: each costs one of the key's publishing allowance.
  const rate = limitRate(deps.limiter);
  const limit = commandBodyLimit(deps.maxEventBytes);

  app.get("/api/v1/tenants/:tenant/workflows", read, (c) => {
    const state = c.req.query("state");
    if (state !== undefined && !(WORKFLOW_STATES as readonly string[]).includes(state)) {
      throw new ApiError(400, "invalid_filter", `state must be one of ${WORKFLOW_STATES.join(", ")}`);
    }
    const limit = parseLimit(c.req.query("limit"), DEFAULT_LIST, MAX_LIST);
    const { head, value: workflows } = deps.log.atHead(() => listWorkflows(deps.db, c.req.param("tenant"), { state: state as WorkflowState | undefined, limit }));
    return c.json({ head, workflows: workflows.map(rowJson) });
  });

  app.get("/api/v1/tenants/:tenant/workflows/:workflow", read, (c) => {
    const { head, value: workflow } = deps.log.atHead(() => findWorkflow(deps.db, c.req.param("tenant"), c.req.param("workflow")));
    if (!workflow) throw new ApiError(404, "not_found", `no workflow "${c.req.param("workflow")}"`);
    return c.json({ head, workflow: rowJson(workflow) });
  });

  /** Pause, resume, cancel (with an optional reason), retry: a command to the worker (see requestControl); 201 with the pending state. */
  for (const action of CONTROL_ACTIONS) {
    app.post(`/api/v1/tenants/:tenant/workflows/:workflow/${action}`, control, rate, limit, async (c) => {
      const body: { reason?: string } = await readBody(c, CONTROL_BODIES[action], deps.maxJsonDepth);
      // An Idempotency-Key makes a retried button press return the first command instead of a 409.
      const key = c.req.header("idempotency-key") ?? null;
      const r = await requestControl(deps, c.req.param("tenant"), c.req.param("workflow"), action, key, body.reason ?? null);
      return c.json({ id: r.id, head: r.head, workflow: rowJson(r.workflow) }, 201);
    });
  }

  return app;
}
