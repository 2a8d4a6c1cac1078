import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, commandStream, expectStateAgreesWithLog, received } from "./support/channels.js";
import { logHead, walkHistory } from "./support/history-pages.js";
import { api, publish, startTestServer, type TestServer } from "./support/server.js";
import type { SseClient } from "./support/sse-client.js";
import { tenantKey } from "./support/tenants.js";

const CHANNELS = "/api/v1/tenants/demo/channels";

/**
 * A failed channel is not a dead end: it can be connected again as it was
 * set up (retry), or taken off the hub (remove, an operator's action that
 * needs the control scope like a command). A disconnected one too.
 */
describe("channels: retry and remove", () => {
  let server: TestServer;
  let connector: SseClient;
  beforeAll(async () => {
    server = await startTestServer();
    connector = await commandStream(server, "connector-1", { kinds: "channels" });
  });
  afterAll(async () => {
    connector?.close();
    await server.dispose();
  });

  const report = (type: string, channel: string, data: Record<string, unknown> = {}) => publish(server, "demo", { type, subject: channel, data });
  /** Connects `id` and has the connector fail it. */
  async function failed(id: string): Promise<void> {
    expect((await call(server, "POST", CHANNELS, { id, platform: "telegram", name: `Bot ${id}`, settings: { region: "eu" } })).status).toBe(201);
    expect((await report("channel.failed", id, { reason: "token rejected", worker: "connector-1" })).status).toBe(201);
  }
  const commandsFor = (id: string) => received(connector).filter((e) => e.subject === id && e.type === "channel.connect_requested");

  it("retries a failed channel: its own connect again, to any connector, and it is connecting", async () => {
    await failed("ch-retry");
    const retry = await call(server, "POST", `${CHANNELS}/ch-retry/retry`);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual({ id: expect.any(Number), channel: "ch-retry" });
    await connector.until(() => commandsFor("ch-retry").length === 2);
    expect(commandsFor("ch-retry")[1]).toMatchObject({
      id: retry.body.id,
      data: { platform: "telegram", name: "Bot ch-retry", settings: { region: "eu" }, kind: "channels" },
    });
    expect((await call(server, "GET", `${CHANNELS}/ch-retry`)).body.channel).toMatchObject({ state: "connecting", reason: null, step: null });
    await expectStateAgreesWithLog(server);
  });

  it("refuses a retry of a channel that is connecting or connected, or unknown, appending nothing", async () => {
    const head = await logHead(server);
    const busy = await call(server, "POST", `${CHANNELS}/ch-retry/retry`);
    expect(busy.status).toBe(409);
    expect(busy.body.message).toBe("channel ch-retry is connecting: only a failed or disconnected channel is connected again");
    const unknown = await call(server, "POST", `${CHANNELS}/ch-nope/retry`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe('no channel "ch-nope"');
    const bad = await call(server, "POST", `${CHANNELS}/ch-retry/retry`, { platform: "sms" });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: "invalid_request", message: 'unknown field "platform"' });
    expect(await logHead(server)).toBe(head);
  });

  it("removes a failed channel: gone from the hub, its history kept, its id free again", async () => {
    await failed("ch-gone");
    const removed = await call(server, "DELETE", `${CHANNELS}/ch-gone`, { reason: "replaced by ch-new" });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ id: expect.any(Number), channel: "ch-gone" });
    expect((await call(server, "GET", `${CHANNELS}/ch-gone`)).status).toBe(404);
    expect((await call(server, "GET", CHANNELS)).body.channels.map((c: { channel_id: string }) => c.channel_id)).not.toContain("ch-gone");
    const history = await walkHistory(server, "demo", { subject: "ch-gone" });
    expect(history.map((e) => e.type)).toEqual(["channel.connect_requested", "channel.failed", "channel.removed"]);
    expect(history[2].data).toEqual({ reason: "replaced by ch-new" });
    // Removal is no command: no connector hears of it.
    expect(received(connector).some((e) => e.type === "channel.removed")).toBe(false);
    await expectStateAgreesWithLog(server);

    // The id can be connected afresh.
    expect((await call(server, "POST", CHANNELS, { id: "ch-gone", platform: "slack", name: "New life" })).status).toBe(201);
    expect((await call(server, "GET", `${CHANNELS}/ch-gone`)).body.channel).toMatchObject({ platform: "slack", state: "connecting" });
    await expectStateAgreesWithLog(server);
  });

  it("removes a disconnected channel, and refuses one that holds a connection", async () => {
    expect((await call(server, "POST", CHANNELS, { id: "ch-live", platform: "sms", name: "Alerts" })).status).toBe(201);
    expect((await report("channel.connected", "ch-live", { worker: "connector-1" })).status).toBe(201);
    const head = await logHead(server);
    const refused = await call(server, "DELETE", `${CHANNELS}/ch-live`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe("channel ch-live is connected: disconnect it before removing it");
    expect(await logHead(server)).toBe(head);

    expect((await report("channel.disconnected", "ch-live", { reason: "closed by operator" })).status).toBe(201);
    expect((await call(server, "DELETE", `${CHANNELS}/ch-live`)).status).toBe(200);
    expect((await call(server, "GET", `${CHANNELS}/ch-live`)).status).toBe(404);
    expect((await call(server, "DELETE", `${CHANNELS}/ch-live`)).status).toBe(404);
  });

  it("takes the control scope, on its route and as an event", async () => {
    await failed("ch-scoped");
    const publisher = (await tenantKey(server, "demo", ["read", "publish"])).secret;
    const head = await logHead(server);
    const route = await api(server, `${CHANNELS}/ch-scoped`, { method: "DELETE", key: publisher });
    expect(route.status).toBe(403);
    const event = await publish(server, "demo", { type: "channel.removed", subject: "ch-scoped", data: {} }, { key: publisher });
    expect(event.status).toBe(403);
    expect(event.body.message).toBe('channel.removed is an operator\'s action: publishing it needs the "control" scope');
    expect((await api(server, `${CHANNELS}/ch-scoped/retry`, { method: "POST", key: publisher })).status).toBe(403);
    expect(await logHead(server)).toBe(head);

    // With control, the event is validated like any other, and does what the route does.
    const invalid = await publish(server, "demo", { type: "channel.removed", subject: "ch-scoped", data: { why: "x" } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.details[0].reason).toBe('data has unknown field "why"');
    expect((await publish(server, "demo", { type: "channel.removed", subject: "ch-scoped", data: {} })).status).toBe(201);
    expect((await call(server, "GET", `${CHANNELS}/ch-scoped`)).status).toBe(404);
  });
});
