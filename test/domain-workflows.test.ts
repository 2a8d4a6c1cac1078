import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { walkHistory } from "./support/history-pages.js";
import { api, publish, startTestServer, type TestServer } from "./support/server.js";
import type { SseClient } from "./support/sse-client.js";
import { tenantKey } from "./support/tenants.js";
import {
  agreedWorkflow,
  commandStream,
  control,
  foldWorkflows,
  getWorkflow,
  reasonOf,
  received,
  send,
  started,
  untilConnected,
  workflowHistory,
} from "./support/workflows.js";

/**
 * Workflows: state from the log, controls as commands that reach only the
 * worker running the workflow, and state that changes only when the worker
 * confirms. Every state read is compared with a fold of the log at its head.
 */
describe("workflows", () => {
  let server: TestServer;
  const streams: SseClient[] = [];
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await server.dispose();
  });

  it("runs the whole lifecycle: controls reach the worker, its confirmations change the state", async () => {
    const w1 = await commandStream(server, "render-1");
    const w2 = await commandStream(server, "render-2");
    streams.push(w1, w2);
    await untilConnected(server, "render-1");
    await untilConnected(server, "render-2");

    await started(server, "wf-1", "render-1");
    expect(await agreedWorkflow(server, "wf-1")).toMatchObject({ state: "running", progress: 0, stage: "fetch", stages: ["fetch", "render", "upload"], worker: "render-1" });

    expect((await send(server, "progress", "wf-1", { progress: 0.4, stage: "render", task: "frame 12" })).status).toBe(201);
    expect(await agreedWorkflow(server, "wf-1")).toMatchObject({ state: "running", progress: 0.4, stage: "render", task: "frame 12" });

    // Pause: a command for render-1; the state stays running until render-1 confirms.
    const pause = await control(server, "wf-1", "pause");
    expect(pause.status).toBe(201);
    expect(pause.body.workflow).toMatchObject({ state: "running", pending_action: "pause", pending_event_id: pause.body.id });
    await w1.until((c) => c.ids().includes(pause.body.id));
    expect(received(w1)).toEqual([{ id: pause.body.id, subject: "wf-1", data: { action: "pause", worker: "render-1" } }]);
    expect(await agreedWorkflow(server, "wf-1")).toMatchObject({ state: "running", pending_action: "pause", pending_deliverable: true });

    // Another worker's workflow: its command reaches render-2, which never sees wf-1's (streams are in id order).
    await started(server, "wf-2", "render-2");
    const other = await control(server, "wf-2", "pause");
    expect(other.status).toBe(201);
    await w2.until((c) => c.ids().includes(other.body.id));
    expect(received(w2)).toEqual([{ id: other.body.id, subject: "wf-2", data: { action: "pause", worker: "render-2" } }]);

    expect((await send(server, "paused", "wf-1")).status).toBe(201);
    expect(await agreedWorkflow(server, "wf-1")).toMatchObject({ state: "paused", pending_action: null, pending_event_id: null, progress: 0.4 });

    const resume = await control(server, "wf-1", "resume");
    expect(resume.status).toBe(201);
    await w1.until((c) => c.ids().includes(resume.body.id));
    expect(await agreedWorkflow(server, "wf-1")).toMatchObject({ state: "paused", pending_action: "resume" });
    expect((await send(server, "resumed", "wf-1")).status).toBe(201);
    expect(await agreedWorkflow(server, "wf-1")).toMatchObject({ state: "running", pending_action: null });

    const cancel = await control(server, "wf-1", "cancel");
    expect(cancel.status).toBe(201);
    await w1.until((c) => c.ids().includes(cancel.body.id));
    expect(await agreedWorkflow(server, "wf-1")).toMatchObject({ state: "running", pending_action: "cancel" });
    expect((await send(server, "cancelled", "wf-1", { reason: "operator cancelled" })).status).toBe(201);
    expect(await agreedWorkflow(server, "wf-1")).toMatchObject({ state: "cancelled", pending_action: null, error: "operator cancelled" });

    // render-1 got exactly its three commands, in order, and not wf-2's (which came between pause and resume).
    expect(received(w1).map((c) => [c.id, c.data.action])).toEqual([
      [pause.body.id, "pause"],
      [resume.body.id, "resume"],
      [cancel.body.id, "cancel"],
    ]);
  });

  it("shows failures as retryable or not", async () => {
    await started(server, "wf-fail-retry", "w-fail");
    await started(server, "wf-fail-final", "w-fail");
    expect((await send(server, "failed", "wf-fail-retry", { reason: "upstream timed out", retryable: true })).status).toBe(201);
    expect((await send(server, "failed", "wf-fail-final", { reason: "input video is corrupt", retryable: false })).status).toBe(201);
    expect(await agreedWorkflow(server, "wf-fail-retry")).toMatchObject({ state: "failed", error: "upstream timed out", retryable: true });
    expect(await agreedWorkflow(server, "wf-fail-final")).toMatchObject({ state: "failed", error: "input video is corrupt", retryable: false });
    // retryable must be said, not guessed.
    await started(server, "wf-fail-bad", "w-fail");
    const bad = await send(server, "failed", "wf-fail-bad", { reason: "x" });
    expect(bad.status).toBe(400);
    expect(reasonOf(bad.body)).toContain("data.retryable");
  });

  describe("rejects invalid transitions with 400/409 and appends nothing", () => {
    /** Runs `attempt` and checks it was refused with `status` and changed neither the workflow's log nor its state. */
    async function refused(id: string, status: 400 | 403 | 404 | 409, attempt: () => Promise<{ status: number; body: any }>): Promise<string> {
      const before = await walkHistory(server, "demo", { subject: id });
      const stateBefore = (await api(server, `/api/v1/tenants/demo/workflows/${id}`)).status === 200 ? (await getWorkflow(server, id)).workflow : null;
      const res = await attempt();
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.error).toBe({ 400: "invalid_event", 403: "forbidden", 404: "not_found", 409: "conflict" }[status]);
      expect(await walkHistory(server, "demo", { subject: id })).toEqual(before);
      if (stateBefore) expect((await getWorkflow(server, id)).workflow).toEqual(stateBefore);
      return reasonOf(res.body);
    }

    it("progress outside 0..1, and stages that are not the workflow's", async () => {
      await started(server, "wf-bad", "w-bad");
      expect(await refused("wf-bad", 400, () => send(server, "progress", "wf-bad", { progress: 1.5 }))).toContain("data.progress");
      expect(await refused("wf-bad", 400, () => send(server, "progress", "wf-bad", { progress: -0.1 }))).toContain("data.progress");
      expect(await refused("wf-bad", 400, () => send(server, "progress", "wf-bad", { progress: "half" }))).toContain("data.progress");
      expect(await refused("wf-bad", 409, () => send(server, "progress", "wf-bad", { progress: 0.5, stage: "encode" }))).toContain('"encode" is not a stage');
      // A start that contradicts itself is bad data (400), whatever the state.
      expect(await refused("wf-bad-2", 400, () => send(server, "started", "wf-bad-2", { name: "x", stages: ["a"], worker: "w", stage: "b" }))).toContain("data.stage");
      expect(await refused("wf-bad-2", 400, () => send(server, "started", "wf-bad-2", { name: "x", stages: ["a", "a"], worker: "w" }))).toContain("twice");
      expect(await refused("wf-bad", 409, () => send(server, "started", "wf-bad", { name: "again", stages: ["a"], worker: "w" }))).toContain("already started");
      expect(await refused("wf-nobody", 409, () => send(server, "progress", "wf-nobody", { progress: 0.1 }))).toContain("workflow.started must come first");
      expect(await refused("wf-bad", 400, () => publish(server, "demo", { type: "workflow.progress", data: { progress: 0.1 } }))).toContain("needs a subject");
      expect(await agreedWorkflow(server, "wf-bad")).toMatchObject({ state: "running", progress: 0, stage: "fetch" });
    });

    it("a finished workflow never moves again", async () => {
      await started(server, "wf-done", "w-done");
      expect((await send(server, "completed", "wf-done")).status).toBe(201);
      expect(await agreedWorkflow(server, "wf-done")).toMatchObject({ state: "completed", progress: 1 });
      for (const [type, data] of [
        ["progress", { progress: 0.5 }],
        ["completed", {}],
        ["failed", { reason: "late", retryable: true }],
        ["paused", {}],
        ["resumed", {}],
        ["cancelled", {}],
      ] as const) {
        expect(await refused("wf-done", 409, () => send(server, type, "wf-done", data))).toContain("has already completed");
      }
      for (const action of ["pause", "resume", "cancel"]) expect(await refused("wf-done", 409, () => control(server, "wf-done", action))).toContain("completed");
    });

    it("controls only from the states they apply to, one pending at a time", async () => {
      await started(server, "wf-ctl", "w-ctl");
      expect(await refused("wf-ctl", 409, () => control(server, "wf-ctl", "resume"))).toContain("only when paused");
      // Published directly, the command obeys the same rules.
      expect(await refused("wf-ctl", 409, () => send(server, "control_requested", "wf-ctl", { action: "resume", worker: "w-ctl" }))).toContain("only when paused");
      expect(await refused("wf-ctl", 409, () => send(server, "control_requested", "wf-ctl", { action: "pause", worker: "w-other" }))).toContain("run by worker w-ctl");
      expect(await refused("wf-ctl", 400, () => send(server, "control_requested", "wf-ctl", { action: "pause" }))).toContain("data.worker");
      expect(await refused("wf-ctl", 400, () => send(server, "control_requested", "wf-ctl", { action: "restart", worker: "w-ctl" }))).toContain("data.action");
      // A confirmation with no request is fine when the transition is valid, and refused when not.
      expect(await refused("wf-ctl", 409, () => send(server, "resumed", "wf-ctl"))).toContain("only when paused");

      const pause = await control(server, "wf-ctl", "pause");
      expect(pause.status).toBe(201);
      expect(await refused("wf-ctl", 409, () => control(server, "wf-ctl", "cancel"))).toContain("a pause of workflow wf-ctl is already pending");
      expect(await refused("wf-ctl", 409, () => control(server, "wf-ctl", "pause"))).toContain("already pending");
      expect(await refused("wf-ctl", 400, () => send(server, "control_expired", "wf-ctl", { action: "pause", request_id: pause.body.id }))).toContain("appended by Switchboard itself");

      expect((await send(server, "paused", "wf-ctl")).status).toBe(201);
      expect(await refused("wf-ctl", 409, () => send(server, "progress", "wf-ctl", { progress: 0.7 }))).toContain("is paused");
      expect(await refused("wf-ctl", 409, () => control(server, "wf-ctl", "pause"))).toContain("only when running");
      expect(await refused("wf-ctl", 409, () => send(server, "completed", "wf-ctl"))).toContain("resume it first");
      expect(await refused("wf-ctl", 409, () => send(server, "paused", "wf-ctl"))).toContain("only when running");
      expect(await agreedWorkflow(server, "wf-ctl")).toMatchObject({ state: "paused", pending_action: null });

      // Cancel is valid while paused.
      expect((await control(server, "wf-ctl", "cancel")).status).toBe(201);
      expect(await agreedWorkflow(server, "wf-ctl")).toMatchObject({ state: "paused", pending_action: "cancel" });
    });

    it("a worker may pause on its own; a pending cancel survives it, a pending pause does not survive a cancel", async () => {
      await started(server, "wf-self", "w-self");
      expect((await control(server, "wf-self", "cancel")).status).toBe(201);
      expect((await send(server, "paused", "wf-self")).status).toBe(201);
      expect(await agreedWorkflow(server, "wf-self")).toMatchObject({ state: "paused", pending_action: "cancel" });
      expect((await send(server, "cancelled", "wf-self")).status).toBe(201);
      expect(await agreedWorkflow(server, "wf-self")).toMatchObject({ state: "cancelled", pending_action: null });

      await started(server, "wf-self-2", "w-self");
      expect((await control(server, "wf-self-2", "pause")).status).toBe(201);
      expect((await send(server, "failed", "wf-self-2", { reason: "disk full", retryable: true })).status).toBe(201);
      expect(await agreedWorkflow(server, "wf-self-2")).toMatchObject({ state: "failed", pending_action: null, retryable: true });
    });

    it("controls need the control scope and a known workflow", async () => {
      const noControl = (await tenantKey(server, "demo", ["read", "publish"])).secret;
      await started(server, "wf-auth", "w-auth");
      expect(await refused("wf-auth", 403, () => control(server, "wf-auth", "pause", noControl))).toContain('"control" scope');
      expect(await refused("wf-missing", 404, () => control(server, "wf-missing", "pause"))).toContain('no workflow "wf-missing"');
      expect((await api(server, "/api/v1/tenants/demo/workflows/wf-missing")).status).toBe(404);
    });
  });

  it("lists workflows, running and paused first, agreeing with the log", async () => {
    const res = await api(server, "/api/v1/tenants/demo/workflows");
    expect(res.status).toBe(200);
    const { head, workflows } = (await res.json()) as { head: number; workflows: any[] };
    const model = foldWorkflows(await workflowHistory(server), head);
    expect(workflows.length).toBe(model.size);
    for (const w of workflows) expect(w).toEqual(model.get(w.workflow_id));
    const active = workflows.map((w) => ["running", "paused"].includes(w.state));
    expect(active.indexOf(false)).toBeGreaterThan(0);
    expect(active.slice(active.indexOf(false))).not.toContain(true);

    const failed = (await (await api(server, "/api/v1/tenants/demo/workflows?state=failed")).json()) as { workflows: any[] };
    expect(failed.workflows.map((w) => w.workflow_id).sort()).toEqual([...model.values()].filter((w) => w.state === "failed").map((w) => w.workflow_id).sort());
    expect(failed.workflows.length).toBeGreaterThan(0);
    expect((await api(server, "/api/v1/tenants/demo/workflows?state=stuck")).status).toBe(400);
    expect((await api(server, "/api/v1/tenants/demo/workflows?limit=0")).status).toBe(400);
  });

  it("a worker that reconnects with Last-Event-ID gets exactly the commands it missed", async () => {
    let worker = await commandStream(server, "resumer");
    await untilConnected(server, "resumer");
    await started(server, "wf-r", "resumer");
    const pause = await control(server, "wf-r", "pause");
    expect(pause.status).toBe(201);
    await worker.until((c) => c.ids().includes(pause.body.id));
    worker.close();

    // While its stream is down: it confirms over HTTP, an operator resumes and cancels, another worker gets a command.
    expect((await send(server, "paused", "wf-r")).status).toBe(201);
    const resume = await control(server, "wf-r", "resume");
    expect(resume.status).toBe(201);
    await started(server, "wf-r-other", "someone-else");
    expect((await control(server, "wf-r-other", "pause")).status).toBe(201);
    expect((await send(server, "resumed", "wf-r")).status).toBe(201);
    const cancel = await control(server, "wf-r", "cancel");
    expect(cancel.status).toBe(201);

    worker = await commandStream(server, "resumer", pause.body.id);
    streams.push(worker);
    await worker.until((c) => c.ids().length >= 2);
    // Live from here: a later command arrives after the replay, so nothing else was in it.
    await started(server, "wf-r-2", "resumer");
    const later = await control(server, "wf-r-2", "pause");
    await worker.until((c) => c.ids().includes(later.body.id));
    expect(received(worker)).toEqual([
      { id: resume.body.id, subject: "wf-r", data: { action: "resume", worker: "resumer" } },
      { id: cancel.body.id, subject: "wf-r", data: { action: "cancel", worker: "resumer" } },
      { id: later.body.id, subject: "wf-r-2", data: { action: "pause", worker: "resumer" } },
    ]);
    expect(worker.ids()).toEqual([resume.body.id, cancel.body.id, later.body.id]);
    expect(await agreedWorkflow(server, "wf-r")).toMatchObject({ state: "running", pending_action: "cancel" });
  });
});
