import { expect } from "vitest";
import { walkHistory, type EventJson } from "./history-pages.js";
import { ADMIN_KEY, api, publish } from "./server.js";
import { SseClient } from "./sse-client.js";

/**
 * Helpers for the workflows tests, and an independent model of the
 * workflow state: a fold of the log (only events it accepted) that the
 * state endpoints must agree with at their `head`.
 */

type Wf = Record<string, unknown> & { state: string; pending_action: string | null; stage: string | null };

const VALID_FROM: Record<string, string[]> = { pause: ["running"], resume: ["paused"], cancel: ["running", "paused"], retry: ["failed", "cancelled"] };
const CONFIRMS: Record<string, [action: string, to: string]> = {
  "workflow.paused": ["pause", "paused"],
  "workflow.resumed": ["resume", "running"],
  "workflow.cancelled": ["cancel", "cancelled"],
};
const NO_PENDING = { pending_action: null, pending_event_id: null, pending_at: null, pending_deliverable: null, pending_reason: null };

/** Every workflow of the tenant as the log says it is at `head`. */
export function foldWorkflows(events: EventJson[], head: number): Map<string, Wf> {
  const connected = new Map<string, boolean>();
  const wfs = new Map<string, Wf>();
  for (const e of events) {
    if (e.id > head) break;
    const d = e.data as Record<string, any>;
    if (e.type === "agent.connected") connected.set(e.subject!, true);
    if (e.type === "agent.disconnected") connected.set(e.subject!, false);
    if (!e.type.startsWith("workflow.")) continue;
    if (e.type === "workflow.started") {
      wfs.set(e.subject!, {
        tenant: e.tenant,
        workflow_id: e.subject,
        name: d.name,
        stages: d.stages,
        stage: d.stage ?? null,
        task: d.task ?? null,
        progress: 0,
        state: "running",
        worker: d.worker,
        error: null,
        retryable: null,
        ...NO_PENDING,
        expired_action: null,
        attempt: 1,
        started_at: e.ts,
        state_at: e.ts,
        updated_at: e.ts,
        event_id: e.id,
      });
      continue;
    }
    const w = wfs.get(e.subject!)!;
    const before = w.state;
    const settle = (to: string, confirmed?: string) => {
      if (w.pending_action !== null && (w.pending_action === confirmed || !VALID_FROM[w.pending_action].includes(to))) Object.assign(w, NO_PENDING);
    };
    switch (e.type) {
      case "workflow.progress":
        if (d.stage !== undefined && d.stage !== w.stage) Object.assign(w, { stage: d.stage, task: null });
        if (d.task !== undefined) w.task = d.task;
        w.progress = d.progress;
        break;
      case "workflow.control_requested":
        Object.assign(w, {
          pending_action: d.action,
          pending_event_id: e.id,
          pending_at: e.ts,
          pending_deliverable: connected.get(d.worker) ?? false,
          pending_reason: d.reason ?? null,
          expired_action: null,
        });
        break;
      case "workflow.paused":
      case "workflow.resumed":
      case "workflow.cancelled": {
        const [action, to] = CONFIRMS[e.type];
        // A cancel confirmed without a reason keeps the one the operator gave.
        const asked = e.type === "workflow.cancelled" && w.pending_action === "cancel" ? w.pending_reason : null;
        settle(to, action);
        Object.assign(w, { state: to, error: d.reason ?? asked ?? null, expired_action: null });
        break;
      }
      case "workflow.retried":
        settle("running", "retry");
        Object.assign(w, { state: "running", attempt: (w.attempt as number) + 1, progress: 0, stage: d.stage ?? null, task: d.task ?? null, error: null, retryable: null, expired_action: null });
        break;
      case "workflow.completed":
        settle("completed");
        Object.assign(w, { state: "completed", progress: 1, expired_action: null });
        break;
      case "workflow.failed":
        settle("failed");
        Object.assign(w, { state: "failed", error: d.reason, retryable: d.retryable, expired_action: null });
        break;
      case "workflow.control_expired":
        Object.assign(w, NO_PENDING, { expired_action: d.action });
        break;
    }
    if (w.state !== before) w.state_at = e.ts;
    Object.assign(w, { updated_at: e.ts, event_id: e.id });
  }
  return wfs;
}

/** The log's workflow and presence events (what the model folds). */
export const workflowHistory = (server: { url: string }) => walkHistory(server, "demo", { types: "workflow.*,agent.*" });

export async function getWorkflow(server: { url: string }, id: string): Promise<{ head: number; workflow: Wf }> {
  const res = await api(server, `/api/v1/tenants/demo/workflows/${encodeURIComponent(id)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { head: number; workflow: Wf };
}

/** The detail endpoint's state, checked against the fold of the log through its head; returns it. */
export async function agreedWorkflow(server: { url: string }, id: string): Promise<Wf> {
  const { head, workflow } = await getWorkflow(server, id);
  const expected = foldWorkflows(await workflowHistory(server), head).get(id);
  expect(workflow).toEqual(expected);
  return workflow;
}

/** Publishes one workflow event as its worker would; returns the status and body. */
export function send(server: { url: string }, type: string, subject: string, data: Record<string, unknown> = {}) {
  return publish(server, "demo", { type: `workflow.${type}`, subject, data });
}

export async function started(server: { url: string }, id: string, worker: string, stages = ["fetch", "render", "upload"]): Promise<number> {
  const res = await send(server, "started", id, { name: `job ${id}`, stages, worker, stage: stages[0] });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.ids[0];
}

/** An operator's control through the API: the status and body. */
export async function control(server: { url: string }, id: string, action: string, key = ADMIN_KEY): Promise<{ status: number; body: any }> {
  const res = await api(server, `/api/v1/tenants/demo/workflows/${encodeURIComponent(id)}/${action}`, { method: "POST", key });
  return { status: res.status, body: await res.json() };
}

/** A worker's command stream, optionally resumed from `lastEventId`. */
export async function commandStream(server: { url: string }, worker: string, lastEventId?: number): Promise<SseClient> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
  if (lastEventId !== undefined) headers["last-event-id"] = String(lastEventId);
  const client = await SseClient.open(`${server.url}/api/v1/tenants/demo/workers/${encodeURIComponent(worker)}/commands`, headers);
  expect(client.status).toBe(200);
  return client;
}

/** Resolves once the log (the agents table) says the worker is connected; the timeout is only a failure guard. */
export async function untilConnected(server: { url: string }, worker: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api(server, `/api/v1/tenants/demo/agents/${encodeURIComponent(worker)}`);
    if (res.status === 200 && ((await res.json()) as any).agent.connected === true) return;
    if (res.status !== 200) await res.body?.cancel();
    if (Date.now() > deadline) throw new Error(`worker ${worker} never showed as connected`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Commands received on a stream: id, subject and data. */
export const received = (client: SseClient) =>
  client.messages.filter((m) => m.event === "workflow.control_requested").map((m) => {
    const e = JSON.parse(m.data) as EventJson;
    return { id: e.id, subject: e.subject, data: e.data };
  });

/** Why an API call was refused: a published event's reason is in `details`, a route's in `message`. */
export const reasonOf = (body: { message: string; details?: { reason: string }[] }): string => body.details?.[0]?.reason ?? body.message;
