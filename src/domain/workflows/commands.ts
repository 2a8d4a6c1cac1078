import { appendDomainEvent } from "../append-event.js";
import { ApiError } from "../../http/errors.js";
import type { DomainDeps } from "../domain.js";
import { findWorkflow, type Workflow } from "./queries.js";
import type { ControlAction } from "./schema.js";

/** What a control request leaves behind: the command's id, the head after it, and the workflow then. */
export interface ControlResult {
  id: number;
  head: number;
  workflow: Workflow;
}

/**
 * Pause, resume, cancel or retry a workflow: appends a
 * `workflow.control_requested` command for the worker running it (a cancel
 * may carry the operator's `reason`). The state changes only when the worker
 * confirms; until then the control is pending. The projection decides
 * whether the transition is valid (409 if not), so two operators pressing at
 * once cannot both get a pending control. The one command path of the API
 * route and the console's buttons.
 *
 * @param idempotencyKey makes a retried request return the first command instead of a 409 (null: none).
 * @param reason why a cancel was asked (trimmed, at most MAX_REASON characters; 400 otherwise, and for other actions).
 * @throws ApiError 404 (no such workflow), 409 (invalid transition, already pending), 400, 503.
 */
export async function requestControl(
  deps: Pick<DomainDeps, "db" | "log" | "maxEventBytes" | "domains">,
  tenant: string,
  workflowId: string,
  action: ControlAction,
  idempotencyKey: string | null = null,
  reason: string | null = null,
): Promise<ControlResult> {
  const workflow = findWorkflow(deps.db, tenant, workflowId);
  if (!workflow) throw new ApiError(404, "not_found", `no workflow "${workflowId}"`);
  if (workflow.worker === null) throw new ApiError(409, "conflict", `workflow ${workflowId} has no worker to receive a ${action}`);
  const id = await appendDomainEvent(deps, tenant, {
    type: "workflow.control_requested",
    subject: workflowId,
    data: { action, worker: workflow.worker, ...(reason !== null && { reason }) },
    key: idempotencyKey,
  });
  const { head, value } = deps.log.atHead(() => findWorkflow(deps.db, tenant, workflowId)!);
  return { id, head, workflow: value };
}
