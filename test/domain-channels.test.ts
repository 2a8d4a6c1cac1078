import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, commandStream, expectStateAgreesWithLog, received } from "./support/channels.js";
import { walkHistory } from "./support/history-pages.js";
import { api, publish, startTestServer, type TestServer } from "./support/server.js";
import type { SseClient } from "./support/sse-client.js";
import { tenantKey } from "./support/tenants.js";

const CHANNELS = "/api/v1/tenants/demo/channels";

describe("channels: the omnichannel hub", () => {
  let server: TestServer;
  const streams: SseClient[] = [];
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await server.dispose();
  });
  const open = async (worker: string, options: { kinds?: string; lastEventId?: number } = {}) => {
    const s = await commandStream(server, worker, options);
    expect(s.status).toBe(200);
    streams.push(s);
    return s;
  };
  const report = (type: string, channel: string, data: Record<string, unknown>) => publish(server, "demo", { type, subject: channel, data });
  const channel = async (id: string) => (await call(server, "GET", `${CHANNELS}/${id}`)).body.channel;

  it("connects in steps: the command reaches a connector and no other worker; progress, connected; state agrees with the log", async () => {
    const connector = await open("connector-1", { kinds: "channels" });
    const unrelated = await open("workflow-runner", { kinds: "workflows" });

    const connect = await call(server, "POST", CHANNELS, { platform: "whatsapp", name: "Support line", settings: { phone_id: "1234" } });
    expect(connect.status).toBe(201);
    expect(connect.body).toEqual({ id: expect.any(Number), channel: expect.stringMatching(/^ch_/) });
    const id: string = connect.body.channel;

    // Answered at once: the channel is connecting while the connector works in the background.
    expect(await channel(id)).toMatchObject({ channel_id: id, platform: "whatsapp", name: "Support line", settings: { phone_id: "1234" }, state: "connecting", step: null });

    await connector.until((c) => c.messages.length >= 1);
    const [command] = received(connector);
    expect(command).toMatchObject({
      id: connect.body.id,
      type: "channel.connect_requested",
      subject: id,
      data: { platform: "whatsapp", name: "Support line", settings: { phone_id: "1234" }, kind: "channels" },
    });

    const labels = ["Starting the bot", "Scanning the QR code", "Syncing contacts"];
    for (let step = 1; step <= 3; step++) {
      const r = await report("channel.progress", id, { step, total: 3, label: labels[step - 1], worker: "connector-1" });
      expect(r.status).toBe(201);
      expect(await channel(id)).toMatchObject({ state: "connecting", step, total: 3, step_label: labels[step - 1], worker: "connector-1" });
    }
    const connected = await report("channel.connected", id, { worker: "connector-1" });
    expect(connected.status).toBe(201);
    expect(await channel(id)).toMatchObject({ state: "connected", step: 3, total: 3, worker: "connector-1", event_id: connected.body.ids[0] });

    const state = await expectStateAgreesWithLog(server);
    expect(state.channels.find((c) => c.channel_id === id)).toMatchObject({ state: "connected" });

    // A command addressed to the unrelated worker by name is the first thing its stream carries:
    // streams deliver in log order, so had the connect reached it, the connect would have come first.
    const named = await call(server, "POST", CHANNELS, { platform: "telegram", name: "Named", worker: "workflow-runner" });
    expect(named.status).toBe(201);
    await unrelated.until((c) => c.messages.length >= 1);
    expect(received(unrelated).map((e) => e.id)).toEqual([named.body.id]);
    expect(received(unrelated)[0].data).toEqual({ platform: "telegram", name: "Named", settings: {}, worker: "workflow-runner" });
    // ...and it is addressed to that worker only, not to every connector.
    const marker = await call(server, "POST", CHANNELS, { platform: "slack", name: "Marker" });
    await connector.until((c) => received(c).some((e) => e.id === marker.body.id));
    expect(received(connector).map((e) => e.id)).toEqual([connect.body.id, marker.body.id]);
  });

  it("a failed connect keeps the connector's reason, and the channel can be connected again", async () => {
    const connector = await open("connector-fail", { kinds: "channels" });
    const connect = await call(server, "POST", CHANNELS, { id: "tg-sales", platform: "telegram", name: "Sales bot", settings: { username: "sales_bot" } });
    expect(connect.status).toBe(201);
    expect(connect.body.channel).toBe("tg-sales");
    await connector.until((c) => received(c).some((e) => e.id === connect.body.id));

    expect((await report("channel.progress", "tg-sales", { step: 1, total: 2, label: "Checking the token" })).status).toBe(201);
    const failed = await report("channel.failed", "tg-sales", { reason: "the bot token was revoked", worker: "connector-fail" });
    expect(failed.status).toBe(201);
    expect(await channel("tg-sales")).toMatchObject({ state: "failed", reason: "the bot token was revoked", step: 1, total: 2, worker: "connector-fail" });

    // A retry starts a fresh attempt: new settings, no steps, no failure.
    const retry = await call(server, "POST", CHANNELS, { id: "tg-sales", platform: "telegram", name: "Sales bot", settings: { username: "sales_bot2" } });
    expect(retry.status).toBe(201);
    expect(await channel("tg-sales")).toMatchObject({ state: "connecting", step: null, total: null, step_label: null, reason: null, worker: null, settings: { username: "sales_bot2" } });
    await connector.until((c) => received(c).some((e) => e.id === retry.body.id));
    // It stays what it is: a telegram channel cannot be reconnected as another platform.
    await report("channel.failed", "tg-sales", { reason: "still revoked" });
    const otherPlatform = await call(server, "POST", CHANNELS, { id: "tg-sales", platform: "sms", name: "Sales bot" });
    expect(otherPlatform.status).toBe(409);
    expect(otherPlatform.body.message).toMatch(/telegram/);
    await expectStateAgreesWithLog(server);
  });

  it("disconnect is a command to the worker holding the connection, confirmed by channel.disconnected", async () => {
    const holder = await open("connector-holder", { kinds: "channels" });
    const connect = await call(server, "POST", CHANNELS, { id: "slack-ops", platform: "slack", name: "Ops" });
    await holder.until((c) => received(c).some((e) => e.id === connect.body.id));
    await report("channel.connected", "slack-ops", { worker: "connector-holder" });

    const disconnect = await call(server, "POST", `${CHANNELS}/slack-ops/disconnect`, { reason: "rotating credentials" });
    expect(disconnect.status).toBe(201);
    expect(disconnect.body).toEqual({ id: expect.any(Number), channel: "slack-ops" });
    await holder.until((c) => received(c).some((e) => e.id === disconnect.body.id));
    const command = received(holder).find((e) => e.id === disconnect.body.id)!;
    expect(command).toMatchObject({ type: "channel.disconnect_requested", subject: "slack-ops", data: { reason: "rotating credentials", worker: "connector-holder" } });
    // Until the worker confirms, the channel is still connected.
    expect(await channel("slack-ops")).toMatchObject({ state: "connected", event_id: disconnect.body.id });

    const confirmed = await report("channel.disconnected", "slack-ops", { reason: "rotating credentials", worker: "connector-holder" });
    expect(confirmed.status).toBe(201);
    expect(await channel("slack-ops")).toMatchObject({ state: "disconnected", reason: "rotating credentials" });

    const again = await call(server, "POST", `${CHANNELS}/slack-ops/disconnect`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: "conflict", message: expect.stringMatching(/disconnected/) });
    const unknown = await call(server, "POST", `${CHANNELS}/nope/disconnect`);
    expect(unknown.status).toBe(404);
    await expectStateAgreesWithLog(server);
  });

  it("activity messages mask the sender and truncate the preview; unknown fields are rejected", async () => {
    const long = "Hello, I would like to know more about your plans. ".repeat(20);
    const r = await publish(server, "demo", {
      type: "activity.message",
      data: { platform: "whatsapp", direction: "in", preview: long, sender: "+1 (415) 555-0123", channel: "ch_x", message_id: "wamid.1" },
    });
    expect(r.status).toBe(201);
    const [event] = await walkHistory(server, "demo", { types: "activity.*" });
    expect(event.id).toBe(r.body.ids[0]);
    expect(event.data.sender).toBe("•••0123");
    expect(JSON.stringify(event)).not.toContain("555-0123");
    const preview = event.data.preview as string;
    expect(Array.from(preview)).toHaveLength(280);
    expect(preview.endsWith("…")).toBe(true);
    expect(long.startsWith(preview.slice(0, -1))).toBe(true);
    expect(event.data).toMatchObject({ platform: "whatsapp", direction: "in", channel: "ch_x", message_id: "wamid.1" });

    const short = await publish(server, "demo", { type: "activity.message", data: { platform: "sms", direction: "out", preview: "On my way" } });
    expect(short.status).toBe(201);

    const head = (await call(server, "GET", CHANNELS)).body.head;
    const unknownField = await publish(server, "demo", { type: "activity.message", data: { platform: "sms", direction: "out", preview: "x", full_text: "x" } });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.details[0].reason).toMatch(/unknown field "full_text"/);
    const badDirection = await publish(server, "demo", { type: "activity.message", data: { platform: "sms", direction: "sideways", preview: "x" } });
    expect(badDirection.status).toBe(400);
    expect(badDirection.body.details[0].reason).toMatch(/data\.direction/);
    const badPlatform = await publish(server, "demo", { type: "activity.message", data: { platform: "WhatsApp", direction: "in", preview: "x" } });
    expect(badPlatform.status).toBe(400);
    expect((await call(server, "GET", CHANNELS)).body.head).toBe(head);
    expect((await walkHistory(server, "demo", { types: "activity.*" })).map((e) => e.data.preview)).toEqual([preview, "On my way"]);
  });

  it("invalid transitions are refused with a reason and change nothing", async () => {
    const connect = await call(server, "POST", CHANNELS, { id: "email-desk", platform: "email", name: "Help desk" });
    expect(connect.status).toBe(201);
    const before = await expectStateAgreesWithLog(server);

    const attempts: [string, string, Record<string, unknown>, number, RegExp][] = [
      ["channel.progress", "ghost", { step: 1, total: 3, label: "Starting" }, 409, /no channel ghost/],
      ["channel.connected", "ghost", {}, 409, /no channel ghost/],
      ["channel.progress", "email-desk", { step: 4, total: 3, label: "Too far" }, 400, /data\.step/],
      ["channel.progress", "email-desk", { step: 0, total: 3, label: "Too early" }, 400, /data\.step/],
      ["channel.progress", "email-desk", { step: 1, total: 3, label: "x", color: "red" }, 400, /unknown field "color"/],
      ["channel.failed", "email-desk", {}, 400, /data\.reason/],
      ["channel.disconnected", "ghost", {}, 409, /no channel ghost/],
    ];
    for (const [type, subject, data, status, reason] of attempts) {
      const r = await report(type, subject, data);
      expect(r.status, `${type} ${JSON.stringify(data)}`).toBe(status);
      expect(r.body.details?.[0].reason ?? r.body.message).toMatch(reason);
    }
    const noSubject = await publish(server, "demo", { type: "channel.progress", data: { step: 1, total: 1, label: "x" } });
    expect(noSubject.status).toBe(400);

    // Connecting twice, through the API and as a published command.
    const twice = await call(server, "POST", CHANNELS, { id: "email-desk", platform: "email", name: "Help desk" });
    expect(twice.status).toBe(409);
    expect(twice.body.message).toMatch(/already connecting/);
    const published = await publish(server, "demo", { type: "channel.connect_requested", subject: "email-desk", data: { platform: "email", name: "x", kind: "channels" } });
    expect(published.status).toBe(409);
    const untargeted = await publish(server, "demo", { type: "channel.connect_requested", subject: "new-one", data: { platform: "email", name: "x" } });
    expect(untargeted.status).toBe(400);
    expect(untargeted.body.details[0].reason).toMatch(/"worker" or "kind"/);

    expect(await expectStateAgreesWithLog(server)).toEqual(before);

    // Connected twice: the second is refused, and so is progress after connecting.
    expect((await report("channel.connected", "email-desk", {})).status).toBe(201);
    const after = await expectStateAgreesWithLog(server);
    const second = await report("channel.connected", "email-desk", {});
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(/connected, not connecting/);
    expect((await report("channel.progress", "email-desk", { step: 1, total: 1, label: "late" })).status).toBe(409);
    expect((await report("channel.failed", "email-desk", { reason: "late" })).status).toBe(409);
    expect(await expectStateAgreesWithLog(server)).toEqual(after);

    // The API's own validation: bad bodies never reach the log.
    const bad = await call(server, "POST", CHANNELS, { platform: "Not A Platform", name: "x" });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^platform:/);
    const extra = await call(server, "POST", CHANNELS, { platform: "sms", name: "x", token: "secret" });
    expect(extra.status).toBe(400);
    expect(extra.body.message).toMatch(/unknown field "token"/);
    expect(await expectStateAgreesWithLog(server)).toEqual(after);
  });

  it("commands need the control scope; state endpoints answer 404 for an unknown channel and 400 for bad filters", async () => {
    expect((await call(server, "GET", `${CHANNELS}/missing`)).status).toBe(404);
    expect((await call(server, "GET", `${CHANNELS}?state=sleeping`)).status).toBe(400);
    const whatsapp = await call(server, "GET", `${CHANNELS}?platform=whatsapp`);
    expect(whatsapp.status).toBe(200);
    expect(whatsapp.body.channels.length).toBeGreaterThan(0);
    expect(whatsapp.body.channels.every((c: any) => c.platform === "whatsapp")).toBe(true);

    // A key made the way the CLI makes one.
    const publisher = (await tenantKey(server, "demo", ["read", "publish"])).secret;
    const headBefore = (await call(server, "GET", CHANNELS)).body.head;
    const connect = await api(server, CHANNELS, {
      method: "POST",
      key: publisher,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ platform: "sms", name: "x" }),
    });
    expect(connect.status).toBe(403);
    const disconnect = await api(server, `${CHANNELS}/email-desk/disconnect`, { method: "POST", key: publisher });
    expect(disconnect.status).toBe(403);
    // ...while reading the hub is fine with it.
    expect((await api(server, CHANNELS, { key: publisher })).status).toBe(200);
    expect((await call(server, "GET", CHANNELS)).body.head).toBe(headBefore);
  });
});

describe("channels: the worker's command stream resumes", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.dispose());

  it("resumes with Last-Event-ID without repeating or missing a command", async () => {
    const first = await commandStream(server, "connector-r", { kinds: "channels" });
    const a = await call(server, "POST", CHANNELS, { id: "a", platform: "sms", name: "A" });
    const b = await call(server, "POST", CHANNELS, { id: "b", platform: "sms", name: "B" });
    await first.until((c) => c.messages.length >= 2);
    expect(received(first).map((e) => e.id)).toEqual([a.body.id, b.body.id]);
    const last = Number(first.messages.at(-1)!.id);
    first.close();

    // While it is away: more commands, interleaved with events that are not commands.
    await publish(server, "demo", { type: "activity.message", data: { platform: "sms", direction: "in", preview: "hi" } });
    const c = await call(server, "POST", CHANNELS, { id: "c", platform: "sms", name: "C" });
    await publish(server, "demo", { type: "channel.progress", subject: "a", data: { step: 1, total: 2, label: "x" } });
    const d = await call(server, "POST", `${CHANNELS}/b/disconnect`);
    expect([c.status, d.status]).toEqual([201, 201]);

    const second = await commandStream(server, "connector-r", { kinds: "channels", lastEventId: last });
    try {
      await second.until((s) => s.messages.length >= 2);
      const e = await call(server, "POST", CHANNELS, { id: "e", platform: "sms", name: "E" });
      await second.until((s) => s.messages.length >= 3);
      expect(received(second).map((x) => x.id)).toEqual([c.body.id, d.body.id, e.body.id]);
      expect(received(second).map((x) => x.type)).toEqual(["channel.connect_requested", "channel.disconnect_requested", "channel.connect_requested"]);
      expect(second.messages.map((m) => Number(m.id))).toEqual(received(second).map((x) => x.id));
    } finally {
      second.close();
    }
  });
});
