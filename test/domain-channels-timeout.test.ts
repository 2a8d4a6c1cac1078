import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectStateAgreesWithLog } from "./support/channels.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

const CHANNELS = "/api/v1/tenants/demo/channels";

/** A live stream of channel.failed events, from `after` (or the head). */
const failures = (server: { url: string }, after?: number) =>
  SseClient.open(`${server.url}/api/v1/tenants/demo/stream?types=channel.failed`, {
    authorization: `Bearer ${ADMIN_KEY}`,
    ...(after === undefined ? {} : { "last-event-id": String(after) }),
  });

describe("channels: a connect no connector answers expires", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "300" });
  });
  afterAll(() => server.dispose());

  it("appends channel.failed for a silent connect, and leaves answered ones alone", async () => {
    const failed = await failures(server);
    expect(failed.status).toBe(200);
    try {
      // Answered in the same request as the command, so it is connected before any deadline could pass.
      const answered = await publish(server, "demo", [
        { type: "channel.connect_requested", subject: "answered", data: { platform: "sms", name: "Answered", kind: "channels" } },
        { type: "channel.connected", subject: "answered", data: { worker: "w" } },
      ]);
      expect(answered.status).toBe(201);
      const silent = await call(server, "POST", CHANNELS, { id: "silent", platform: "whatsapp", name: "Nobody home" });
      expect(silent.status).toBe(201);
      // A connector that started, then went quiet mid-way.
      const stalled = await publish(server, "demo", [
        { type: "channel.connect_requested", subject: "stalled", data: { platform: "telegram", name: "Stalled", kind: "channels" } },
        { type: "channel.progress", subject: "stalled", data: { step: 1, total: 2, label: "Logging in", worker: "w" } },
      ]);
      expect(stalled.status).toBe(201);

      await failed.until((c) => c.messages.length >= 2);
      const events = failed.messages.map((m) => JSON.parse(m.data)).sort((a, b) => a.subject.localeCompare(b.subject));
      // "answered" was committed first, so any deadline of its own would have passed before these two.
      expect(events.map((e) => e.subject)).toEqual(["silent", "stalled"]);
      expect(events[0].data).toEqual({ reason: "no connector answered within 300 ms", timeout_ms: 300 });
      expect(events[1].data).toEqual({ reason: "the connector went silent for 300 ms after step 1 of 2", timeout_ms: 300 });

      const state = await expectStateAgreesWithLog(server);
      const byId = Object.fromEntries(state.channels.map((c) => [c.channel_id, c]));
      expect(byId.answered).toMatchObject({ state: "connected", reason: null });
      expect(byId.silent).toMatchObject({ state: "failed", reason: "no connector answered within 300 ms" });
      expect(byId.stalled).toMatchObject({ state: "failed", step: 1, total: 2, worker: "w" });

      // A connector answering after the deadline is too late.
      const late = await publish(server, "demo", { type: "channel.connected", subject: "silent", data: { worker: "w" } });
      expect(late.status).toBe(409);
      expect(late.body.message).toMatch(/failed, not connecting/);
    } finally {
      failed.close();
    }
  });

  it("refuses a timeout failure for a channel that has just heard from its connector", async () => {
    const head = (await call(server, "GET", CHANNELS)).body.head;
    const r = await publish(server, "demo", [
      { type: "channel.connect_requested", subject: "fresh", data: { platform: "sms", name: "Fresh", kind: "channels" } },
      { type: "channel.failed", subject: "fresh", data: { reason: "no connector answered", timeout_ms: 60_000 } },
    ]);
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/within 60000 ms/);
    expect((await call(server, "GET", `${CHANNELS}/fresh`)).status).toBe(404);
    expect((await call(server, "GET", CHANNELS)).body.head).toBe(head);
  });
});

describe("channels: connect deadlines survive a restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-channels-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("re-arms the deadline of a channel left connecting, from the table", async () => {
    // Stopped long before its (long) deadline: no timer is left behind, the table alone remembers.
    const before = await startTestServer({ COMMAND_TIMEOUT_MS: "600000" }, dir);
    const connect = await call(before, "POST", CHANNELS, { id: "orphan", platform: "slack", name: "Orphan" });
    expect(connect.status).toBe(201);
    await before.dispose();

    const after = await startTestServer({ COMMAND_TIMEOUT_MS: "300" }, dir);
    try {
      const failed = await failures(after, connect.body.id);
      try {
        await failed.until((c) => c.messages.length >= 1);
        const [event] = failed.messages.map((m) => JSON.parse(m.data));
        expect(event).toMatchObject({ subject: "orphan", data: { reason: "no connector answered within 300 ms", timeout_ms: 300 } });
      } finally {
        failed.close();
      }
      expect((await call(after, "GET", `${CHANNELS}/orphan`)).body.channel).toMatchObject({ state: "failed" });
      await expectStateAgreesWithLog(after);
    } finally {
      await after.dispose();
    }
  });
});
