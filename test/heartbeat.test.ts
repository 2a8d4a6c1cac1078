import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawStream } from "./support/raw-stream.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

describe("heartbeat and retry", () => {
  let server: TestServer;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  beforeAll(async () => {
    server = await startTestServer({ SSE_HEARTBEAT_MS: "1000", SSE_RETRY_MS: "1234" });
  });
  afterAll(() => server.dispose());

  it("sends retry: first thing on connect", async () => {
    const raw = RawStream.open(server.url, "/api/v1/tenants/demo/stream", auth);
    const deadline = Date.now() + 10_000;
    while (raw.body().text.length < "retry: 1234\n\n".length) {
      if (Date.now() > deadline) throw new Error(`no retry line; got ${JSON.stringify(raw.raw)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(raw.head()).toMatch(/^HTTP\/1\.1 200 /);
    expect(raw.body().text.startsWith("retry: 1234\n\n")).toBe(true);
    raw.destroy();

    // The same on a stream that resumes (the retry line comes before the replay).
    const { body } = await publish(server, "demo", { type: "beat.one", data: {} });
    const resumed = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream`, { ...auth, "last-event-id": String(body.ids[0] - 1) });
    await resumed.until((c) => c.messages.length >= 1);
    expect(resumed.retry).toBe(1234);
    expect(resumed.ids()).toEqual(body.ids);
    resumed.close();
  });

  it("sends keep-alive comments on an idle stream, and nothing that looks like an event", async () => {
    const client = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream`, auth);
    expect(client.status).toBe(200);
    await client.until((c) => c.comments.filter((x) => x === "keep-alive").length >= 2, 8_000);
    expect(client.messages).toEqual([]);
    expect(client.closed).toBe(false);

    // It is still a working stream.
    const { body } = await publish(server, "demo", { type: "beat.two", data: { n: 2 } });
    await client.until((c) => c.messages.length >= 1);
    expect(client.ids()).toEqual(body.ids);
    client.close();
  });

  it("frames the heartbeat as a bare comment line", async () => {
    const raw = RawStream.open(server.url, "/api/v1/tenants/demo/stream", auth);
    const deadline = Date.now() + 8_000;
    while (!raw.body().text.includes(": keep-alive")) {
      if (Date.now() > deadline) throw new Error(`no heartbeat; got ${JSON.stringify(raw.raw)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(raw.body().text).toMatch(/^retry: 1234\n\n(: keep-alive\n\n)+$/);
    raw.destroy();
  });
});
