import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { walkHistory, type EventJson } from "./support/history-pages.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { agreedWorkflow, commandStream, control, send, started, untilConnected } from "./support/workflows.js";

/** Waits (on the tenant's stream, from `after`) for the control_expired of `workflowId`; the stream's timeout is only a failure guard. */
async function expiryOf(server: { url: string }, workflowId: string, after: number): Promise<EventJson> {
  const stream = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream?types=workflow.control_expired&subject=${workflowId}`, {
    authorization: `Bearer ${ADMIN_KEY}`,
    "last-event-id": String(after),
  });
  try {
    await stream.until((c) => c.messages.length > 0);
    return JSON.parse(stream.messages[0].data) as EventJson;
  } finally {
    stream.close();
  }
}

/**
 * A control no worker confirms expires after COMMAND_TIMEOUT_MS (small
 * here): Switchboard appends workflow.control_expired, which clears it and
 * shows what expired. A confirmation in time clears it for good.
 *
 * Only what cannot race the deadline is asserted: the state a request left
 * (its answer reads it in the append's transaction), the state after the
 * expiry (which nothing follows), and that reads agree with the log at
 * their head. A read between the request and its deadline may come after
 * the deadline on a busy machine, so none expects "still pending".
 */
describe("workflow controls expire", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "300" });
  });
  afterAll(async () => {
    await server.dispose();
  });

  it("a pause for a worker that is not connected is pending, not deliverable, and expires", async () => {
    await started(server, "wf-offline", "nobody-home");
    const pause = await control(server, "wf-offline", "pause");
    expect(pause.status).toBe(201);
    expect(pause.body.workflow).toMatchObject({ state: "running", pending_action: "pause", pending_event_id: pause.body.id, pending_deliverable: false });
    // Pending or expired by now, the state read agrees with the log.
    await agreedWorkflow(server, "wf-offline");

    const expired = await expiryOf(server, "wf-offline", pause.body.id);
    expect(expired).toMatchObject({ type: "workflow.control_expired", subject: "wf-offline", data: { action: "pause", request_id: pause.body.id } });
    expect(await agreedWorkflow(server, "wf-offline")).toMatchObject({
      state: "running",
      pending_action: null,
      pending_event_id: null,
      pending_deliverable: null,
      expired_action: "pause",
    });
    // A new control can be requested and clears the expiry.
    const again = await control(server, "wf-offline", "cancel");
    expect(again.status).toBe(201);
    expect(again.body.workflow).toMatchObject({ pending_action: "cancel", expired_action: null });
    await agreedWorkflow(server, "wf-offline");
  });
});

/**
 * The confirmation must come before the deadline, which no wall-clock
 * timeout can promise on a busy machine: the control is confirmed under a
 * timeout nothing reaches, and the server restarted with a short one. On
 * start it re-arms every pending control's deadline (long past by then):
 * the unconfirmed one expires at once, the confirmed one has none.
 */
describe("a confirmed control never expires", () => {
  it("while another control, requested later and never confirmed, expires", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-wf-"));
    try {
      const first = await startTestServer({ COMMAND_TIMEOUT_MS: "600000" }, dir);
      const worker = await commandStream(first, "on-time");
      try {
        await untilConnected(first, "on-time");
        await started(first, "wf-on-time", "on-time");
        const pause = await control(first, "wf-on-time", "pause");
        expect(pause.body.workflow).toMatchObject({ pending_action: "pause", pending_deliverable: true });
        await worker.until((c) => c.ids().includes(pause.body.id));
        expect((await send(first, "paused", "wf-on-time")).status).toBe(201);
      } finally {
        worker.close();
      }
      await started(first, "wf-later", "nobody-home");
      const later = await control(first, "wf-later", "pause");
      await first.close();

      const second = await startTestServer({ COMMAND_TIMEOUT_MS: "300" }, dir);
      try {
        await expiryOf(second, "wf-later", later.body.id);
        expect(await walkHistory(second, "demo", { subject: "wf-on-time", types: "workflow.control_expired" })).toEqual([]);
        expect(await agreedWorkflow(second, "wf-on-time")).toMatchObject({ state: "paused", pending_action: null, expired_action: null });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("pending controls survive a restart", () => {
  it("re-arms the deadline on start and expires the control", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-wf-"));
    try {
      // A long timeout: nothing can expire before the restart.
      const first = await startTestServer({ COMMAND_TIMEOUT_MS: "600000" }, dir);
      await started(first, "wf-restart", "nobody-home");
      const pause = await control(first, "wf-restart", "pause");
      expect(pause.status).toBe(201);
      await first.close();

      // Restarted with a short one, the deadline is already past: it expires once the server is up.
      const second = await startTestServer({ COMMAND_TIMEOUT_MS: "300" }, dir);
      try {
        const expired = await expiryOf(second, "wf-restart", pause.body.id);
        expect(expired.data).toEqual({ action: "pause", request_id: pause.body.id });
        expect(await agreedWorkflow(second, "wf-restart")).toMatchObject({ pending_action: null, expired_action: "pause" });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
