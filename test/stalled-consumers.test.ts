import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { Probe } from "./support/probe.js";
import { RawStream } from "./support/raw-stream.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/** Each stream's own share: a 60 KB frame nearly fills it, so healthy readers keep hitting it during the burst. */
const MAX_BUFFER = 64 * 1024;
const MAX_QUEUED = 4 * 1024 * 1024;
const STALLED = 200;
const HEALTHY = 3;
/** 100 × 60 KB: 6 MB to every stream, more than the kernel holds for a socket that never reads. */
const BURST_REQUESTS = 10;
const BURST_BATCH = 10;
const PAD = "x".repeat(60_000);

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

describe("hundreds of stalled streams and a large burst", () => {
  let server: TestServer;
  beforeAll(async () => {
    // A global bound far below 200 streams' own shares; stalled streams are also cut after 4 s (twice the heartbeat).
    server = await startTestServer({ SSE_MAX_BUFFER_BYTES: String(MAX_BUFFER), SSE_MAX_QUEUED_BYTES: String(MAX_QUEUED), SSE_HEARTBEAT_MS: "2000" });
  });
  afterAll(() => server.dispose());

  it("keeps queued bytes under the global bound, cuts the stalled, and delivers every event once to healthy readers", async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const path = "/api/v1/tenants/demo/stream";
    const probe = await Probe.open(server);
    const stalled = Array.from({ length: STALLED }, () => RawStream.stalled(server.url, path, auth));
    const healthy = await Promise.all(Array.from({ length: HEALTHY }, () => SseClient.open(server.url + path, auth)));
    await expect.poll(() => metric(server, "switchboard_streams_open"), { timeout: 30_000 }).toBe(1 + STALLED + HEALTHY);

    // Watch the queued bytes for the whole burst, as a scraper would.
    let maxQueued = 0;
    let watching = true;
    let watchError: unknown = null;
    const watcher = (async () => {
      while (watching) {
        maxQueued = Math.max(maxQueued, await metric(server, "switchboard_stream_queued_bytes"));
        await new Promise((r) => setImmediate(r));
      }
    })().catch((err: unknown) => {
      // After a failed assertion the server is gone; only an error while watching matters.
      if (watching) watchError = err;
    });
    onTestFinished(() => {
      watching = false;
    });

    const published: number[] = [];
    for (let r = 0; r < BURST_REQUESTS; r++) {
      const batch = Array.from({ length: BURST_BATCH }, (_, k) => ({ type: "bulk.blob", data: { n: r * BURST_BATCH + k, pad: PAD } }));
      const { status, body } = await publish(server, "demo", batch);
      expect(status).toBe(201);
      published.push(...body.ids);
    }
    // Another tenant is served while the burst is being delivered.
    await probe.roundTrip();
    expect(await probe.health()).toBe(200);

    for (const reader of healthy) await reader.until((c) => c.messages.length >= published.length, 60_000);
    // Every stalled stream is cut: for memory (the bound needs it) or for not draining.
    await expect.poll(() => metric(server, "switchboard_streams_open"), { timeout: 60_000 }).toBe(1 + HEALTHY);
    watching = false;
    await watcher;
    expect(watchError).toBeNull();

    for (const reader of healthy) {
      expect(reader.ids()).toEqual(published);
      expect(reader.closed).toBe(false);
    }
    expect(await metric(server, "switchboard_slow_consumer_disconnects_total")).toBe(STALLED);
    expect(maxQueued).toBeGreaterThan(0);
    expect(maxQueued).toBeLessThanOrEqual(MAX_QUEUED);
    await probe.roundTrip();
    expect(await metric(server, "switchboard_stream_queued_bytes")).toBe(0);

    // Healthy readers are still live afterwards.
    const live = await publish(server, "demo", { type: "bulk.live" });
    for (const reader of healthy) await reader.until((c) => c.ids().includes(live.body.ids[0]));

    for (const reader of healthy) reader.close();
    for (const s of stalled) s.destroy();
    probe.close();
  }, 180_000);
});
