import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { query } from "./support/database.js";
import { api, startTestServer, type TestServer } from "./support/server.js";
import type { SseClient } from "./support/sse-client.js";
import { agreedWorkflow, commandStream, control, received, send, started, untilConnected } from "./support/workflows.js";

/**
 * Retry and cancel with a reason, over the API: a retry is a command like
 * pause, resume and cancel (pending until the worker answers with
 * `workflow.retried`, or expired), a cancel may say why, and bad requests
 * get a status and a message that says what is wrong.
 */
describe("workflows: retry, and cancel with a reason", () => {
  let server: TestServer;
  let worker: SseClient;
  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "1500" });
    worker = await commandStream(server, "retry-1");
    await untilConnected(server, "retry-1");
  });
  afterAll(async () => {
    worker?.close();
    await server?.dispose();
  });

  const post = (id: string, action: string, body?: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
    api(server, `/api/v1/tenants/demo/workflows/${id}/${action}`, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as any,
    }));

  it("cancel takes a reason: it goes to the worker, and stays when the worker confirms without one", async () => {
    await started(server, "wf-c", "retry-1");
    const cancel = await post("wf-c", "cancel", { reason: "  wrong customer list  " });
    expect(cancel.status).toBe(201);
    expect(cancel.body.workflow).toMatchObject({ state: "running", pending_action: "cancel", pending_reason: "wrong customer list" });
    await worker.until((c) => c.ids().includes(cancel.body.id));
    expect(received(worker).find((c) => c.id === cancel.body.id)!.data).toEqual({ action: "cancel", worker: "retry-1", reason: "wrong customer list" });
    expect((await send(server, "cancelled", "wf-c")).status).toBe(201);
    expect(await agreedWorkflow(server, "wf-c")).toMatchObject({ state: "cancelled", error: "wrong customer list", pending_action: null, pending_reason: null });
  });

  it("refuses a bad reason or body with 400, 415 and a message", async () => {
    await started(server, "wf-bad", "retry-1");
    const long = await post("wf-bad", "cancel", { reason: "x".repeat(201) });
    expect([long.status, long.body.message]).toEqual([400, "reason: must be at most 200 characters"]);
    expect((await post("wf-bad", "cancel", { reason: "   " })).body.message).toBe("reason: must not be empty");
    expect((await post("wf-bad", "cancel", { reason: "two\nlines" })).body.message).toBe("reason: must be one line without control characters");
    expect((await post("wf-bad", "cancel", { reason: 7 })).status).toBe(400);
    const onPause = await post("wf-bad", "pause", { reason: "no" });
    expect([onPause.status, onPause.body.message]).toEqual([400, 'unknown field "reason"']);
    const text = await post("wf-bad", "cancel", "why", { "content-type": "text/plain" });
    expect([text.status, text.body.message]).toEqual([415, "the body must be JSON (Content-Type: application/json)"]);
    // Published directly, a reason on anything but a cancel is refused by the event's schema.
    const forged = await send(server, "control_requested", "wf-bad", { action: "pause", worker: "retry-1", reason: "no" });
    expect(forged.status).toBe(400);
    expect(JSON.stringify(forged.body)).toContain("only a cancel takes a reason");
    // Nothing was asked of the worker.
    expect(await agreedWorkflow(server, "wf-bad")).toMatchObject({ state: "running", pending_action: null });
  });

  it("retry: only a failed or cancelled workflow (409 otherwise); pending until the worker retries it, then running again", async () => {
    await started(server, "wf-r", "retry-1");
    const early = await post("wf-r", "retry");
    expect([early.status, early.body.details?.[0]?.reason ?? early.body.message]).toEqual([409, "workflow wf-r is running: it can be retried only when failed or cancelled"]);

    await send(server, "progress", "wf-r", { progress: 0.6, stage: "render", task: "frame 9" });
    await send(server, "failed", "wf-r", { reason: "disk full", retryable: true });
    const retry = await post("wf-r", "retry");
    expect(retry.status).toBe(201);
    expect(retry.body.workflow).toMatchObject({ state: "failed", pending_action: "retry", pending_deliverable: true, attempt: 1 });
    await worker.until((c) => c.ids().includes(retry.body.id));
    expect(received(worker).find((c) => c.id === retry.body.id)!.data).toEqual({ action: "retry", worker: "retry-1" });
    // A second press while the first is pending: refused, as for any control.
    expect((await post("wf-r", "retry")).status).toBe(409);
    // A finished workflow still takes nothing but its retry.
    expect((await send(server, "progress", "wf-r", { progress: 0.9 })).status).toBe(409);

    expect((await send(server, "retried", "wf-r", { stage: "fetch", task: "again" })).status).toBe(201);
    expect(await agreedWorkflow(server, "wf-r")).toMatchObject({
      state: "running",
      attempt: 2,
      progress: 0,
      stage: "fetch",
      task: "again",
      error: null,
      retryable: null,
      pending_action: null,
    });
    expect((await send(server, "progress", "wf-r", { progress: 0.5, stage: "render" })).status).toBe(201);
    expect((await send(server, "completed", "wf-r")).status).toBe(201);
    const done = await post("wf-r", "retry");
    expect([done.status, done.body.details?.[0]?.reason ?? done.body.message]).toEqual([409, "workflow wf-r is completed: it can be retried only when failed or cancelled"]);
  });

  it("a cancelled workflow can be retried too; a retry nobody answers expires", async () => {
    await started(server, "wf-x", "retry-1");
    await send(server, "cancelled", "wf-x", { reason: "by mistake" });
    const retry = await control(server, "wf-x", "retry");
    expect(retry.status).toBe(201);
    await expect.poll(async () => (await agreedWorkflow(server, "wf-x")).expired_action, { timeout: 15_000 }).toBe("retry");
    expect(await agreedWorkflow(server, "wf-x")).toMatchObject({ state: "cancelled", pending_action: null, error: "by mistake" });
    // Retried later, by the worker on its own: fine without a request.
    expect((await send(server, "retried", "wf-x")).status).toBe(201);
    expect(await agreedWorkflow(server, "wf-x")).toMatchObject({ state: "running", attempt: 2, expired_action: null });
  });

  it("keeps the tabs' counts in step with the workflows, through starts, finishes and retries", async () => {
    const byState = (rows: { state: string; n: number }[]) => ({ running: 0, paused: 0, completed: 0, failed: 0, cancelled: 0, ...Object.fromEntries(rows.map((r) => [r.state, r.n])) });
    const expected = byState(await query(server, "SELECT state, count(*) AS n FROM workflows WHERE tenant = 'demo' GROUP BY state"));
    // What the tests above left: wf-c cancelled, wf-bad and wf-x running, wf-r completed.
    expect(expected).toEqual({ running: 2, paused: 0, completed: 1, failed: 0, cancelled: 1 });
    // The counts the tabs read, kept by the projection (the table workflowCounts reads).
    expect(byState(await query(server, "SELECT state, count AS n FROM workflow_state_counts WHERE tenant = 'demo'"))).toEqual(expected);
  });
});
