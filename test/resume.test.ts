import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

describe("resume with Last-Event-ID", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.dispose());

  it("replays exactly what came after the position, then goes live", async () => {
    for (let n = 1; n <= 10; n++) {
      const { status, body } = await publish(server, "demo", { type: "test.tick", data: { n } });
      expect(status).toBe(201);
      expect(body.ids).toEqual([n]);
    }
    const client = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream`, {
      authorization: `Bearer ${ADMIN_KEY}`,
      "last-event-id": "8",
    });
    expect(client.status).toBe(200);
    expect(client.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(client.headers["cache-control"]).toBe("no-cache, no-transform");
    expect(client.headers["x-accel-buffering"]).toBe("no");
    await client.until((c) => c.messages.length === 2);
    expect(client.ids()).toEqual([9, 10]);

    await publish(server, "demo", { type: "test.tick", data: { n: 11 } });
    await client.until((c) => c.messages.length === 3);
    expect(client.ids()).toEqual([9, 10, 11]);
    expect(client.retry).toBe(2000);
    const last = JSON.parse(client.messages[2].data);
    expect(last).toMatchObject({ id: 11, tenant: "demo", type: "test.tick", subject: null, data: { n: 11 } });
    expect(client.messages[2].event).toBe("test.tick");
    client.close();
  });
});
