import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RawStream } from "./support/raw-stream.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

const MAX_BUFFER = 65_536;
const PAD = "x".repeat(30_000);

/** A value from the Prometheus text of /metrics. */
async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

describe("slow consumers", () => {
  let server: TestServer;
  beforeAll(async () => {
    // A stream is slow when it has not drained for twice the heartbeat: 2 s here.
    server = await startTestServer({ SSE_MAX_BUFFER_BYTES: String(MAX_BUFFER), SSE_HEARTBEAT_MS: "1000" });
  });
  afterAll(() => server.dispose());

  it("disconnects a stream that stops reading, keeps the one that reads, and loses nothing", async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const path = "/api/v1/tenants/demo/stream";
    const reader = await SseClient.open(server.url + path, auth);
    expect(reader.status).toBe(200);
    const stalled = RawStream.stalled(server.url, path, auth);
    await expect.poll(() => metric(server, "switchboard_streams_open"), { timeout: 10_000 }).toBe(2);
    expect(await metric(server, "switchboard_slow_consumer_disconnects_total")).toBe(0);

    // Publish 30 KB events until the stalled stream has filled the kernel's
    // socket buffers (several MB on loopback) and then its own bounded buffer,
    // has not drained for the stall time, and is cut; and a little more. The
    // cap is only a guard.
    const published: number[] = [];
    let cutAt = 0;
    for (let n = 0; n < 3000 && (cutAt === 0 || published.length < cutAt + 20); n++) {
      const { status, body } = await publish(server, "demo", { type: "bulk.blob", data: { n, pad: PAD } });
      expect(status).toBe(201);
      published.push(body.ids[0]);
      if (cutAt === 0 && n % 25 === 24 && (await metric(server, "switchboard_slow_consumer_disconnects_total")) >= 1) cutAt = published.length;
    }
    expect(cutAt, "the stalled stream was never disconnected").toBeGreaterThan(0);
    expect(await metric(server, "switchboard_slow_consumer_disconnects_total")).toBeGreaterThanOrEqual(1);

    // The reader got every event, in order, and is still connected.
    await reader.until((c) => c.messages.length >= published.length, 20_000);
    expect(reader.ids()).toEqual(published);
    expect(reader.closed).toBe(false);
    expect(await metric(server, "switchboard_streams_open")).toBe(1);
    for (const [k, m] of reader.messages.entries()) expect(JSON.parse(m.data).data.n).toBe(k);

    // The stalled socket was closed by the server: once it reads again it
    // drains what the kernel held and then finds the connection gone,
    // without the clean end of a chunked body.
    stalled.resume();
    await vi.waitFor(() => expect(stalled.closedBy, "the stalled stream was never closed by the server").not.toBeNull(), { timeout: 10_000, interval: 20 });
    expect(stalled.head()).toMatch(/^HTTP\/1\.1 200 /);
    expect(stalled.body().complete).toBe(false);
    const got = stalled.ids();
    console.info(`slow: cut after ${cutAt} events; the stalled stream got ${got.length} of ${published.length} (${stalled.raw.length} bytes), closed by ${String(stalled.closedBy)}`);
    expect(got.length).toBeLessThan(published.length);
    expect(got).toEqual(published.slice(0, got.length));

    // Nothing is lost: it resumes from the last event it got and receives the rest from the log.
    const resumed = await SseClient.open(server.url + path, { ...auth, "last-event-id": String(got.at(-1) ?? 0) });
    expect(resumed.status).toBe(200);
    await resumed.until((c) => c.messages.length >= published.length - got.length, 20_000);
    expect([...got, ...resumed.ids()]).toEqual(published);
    expect(resumed.messages.some((m) => m.event === "reset")).toBe(false);

    reader.close();
    resumed.close();
  });
});
