import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

const MAX_BUFFER = 65_536;

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
}

describe("a burst larger than a stream's buffer", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SSE_MAX_BUFFER_BYTES: String(MAX_BUFFER) });
  });
  afterAll(() => server.dispose());

  it("reaches a reader that keeps up by falling back to the log, without disconnecting it", async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const reader = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream`, auth);
    await publish(server, "demo", { type: "bulk.warmup" });
    await reader.until((c) => c.messages.length === 1);

    // One commit of 40 × 20 KB = 800 KB, twelve times the stream's buffer.
    const pad = "y".repeat(20_000);
    const batch = Array.from({ length: 40 }, (_, n) => ({ type: "bulk.blob", data: { n, pad } }));
    const { status, body } = await publish(server, "demo", batch);
    expect(status).toBe(201);
    // And live events after it, which must follow in order.
    const after = await publish(server, "demo", [{ type: "bulk.after" }, { type: "bulk.after" }]);

    const expected = [1, ...body.ids, ...after.body.ids];
    await reader.until((c) => c.messages.length >= expected.length, 20_000);
    expect(reader.ids()).toEqual(expected);
    expect(reader.closed).toBe(false);
    expect(await metric(server, "switchboard_slow_consumer_disconnects_total")).toBe(0);

    // Back to live delivery afterwards.
    const live = await publish(server, "demo", { type: "bulk.live" });
    await reader.until((c) => c.ids().includes(live.body.ids[0]));
    reader.close();
  });
});
