import type { StoredEvent } from "../../event.js";
import { AppendRejected } from "../../store/event-log.js";
import { Deadlines } from "../deadlines.js";
import type { DomainContext } from "../domain.js";
import { workflowControlExpired } from "./events.js";
import { findWorkflow, pendingControls, type WorkflowRow } from "./queries.js";

/**
 * Pending controls expire: one that no worker confirms within
 * COMMAND_TIMEOUT_MS gets a `workflow.control_expired`, which clears it and
 * records what expired, so nobody waits on a pause that will never come.
 * The projection is the source of truth: after each commit the deadline is
 * set from the workflow's pending control, or cleared when there is none.
 */
export class ControlExpiry {
  readonly #deadlines = new Deadlines();
  /** Per workflow, the request whose deadline is set (or has fired): not re-armed by later commits. */
  readonly #armed = new Map<string, number>();

  constructor(private readonly ctx: DomainContext) {}

  onCommit(e: StoredEvent): void {
    // Progress never changes a pending control, and it is the most frequent workflow event.
    if (e.type === "workflow.progress" || e.subject === null) return;
    const w = findWorkflow(this.ctx.db, e.tenant, e.subject);
    if (w) this.#sync(w);
  }

  /** On boot: controls left pending by the last run expire at their original deadline (at once if past). */
  start(): void {
    this.#deadlines.start();
    for (const w of pendingControls(this.ctx.db)) this.#sync(w);
  }

  stop(): void {
    this.#deadlines.stop();
    this.#armed.clear();
  }

  #sync(w: Pick<WorkflowRow, "tenant" | "workflowId" | "pendingAction" | "pendingEventId" | "pendingAt">): void {
    const k = key(w.tenant, w.workflowId);
    if (w.pendingAction === null || w.pendingEventId === null || w.pendingAt === null) {
      this.#deadlines.clear(k);
      this.#armed.delete(k);
      return;
    }
    if (this.#armed.get(k) === w.pendingEventId) return;
    this.#armed.set(k, w.pendingEventId);
    const { tenant, workflowId, pendingAction: action, pendingEventId: requestId } = w;
    this.#deadlines.set(k, w.pendingAt + this.ctx.commandTimeoutMs, () => this.#expire(tenant, workflowId, action, requestId));
  }

  #expire(tenant: string, workflowId: string, action: WorkflowRow["pendingAction"] & string, requestId: number): void {
    const data = workflowControlExpired.parse({ action, request_id: requestId });
    this.ctx.log
      .append(tenant, [{ type: "workflow.control_expired", subject: workflowId, data: JSON.stringify(data), key: null }])
      .catch((err: Error) => {
        // The worker's confirmation committed first: nothing expired, nothing to do.
        if (err instanceof AppendRejected) this.ctx.logger.debug("workflow control not expired", { tenant, workflowId, reason: err.message });
        else this.ctx.logger.warn("workflow control expiry not appended", { tenant, workflowId, error: err.message });
      });
  }
}

const key = (tenant: string, workflowId: string) => `${tenant}\u0000${workflowId}`;
