import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { tenantKey } from "./support/tenants.js";

async function replayPages(server: TestServer): Promise<{ memory: number; log: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const pages = (source: string) => Number(new RegExp(`^switchboard_stream_replay_pages_total\\{source="${source}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { memory: pages("memory"), log: pages("log") };
}

/** Each batch (10 × ~4 KB) is more than a stream's own share: every burst sends the stream back to catching up. */
const MAX_BUFFER = 16 * 1024;
const PAD = "p".repeat(4000);

describe("streams behind by a burst catch up from the recent events in memory", () => {
  let server: TestServer;
  let otherKey: string;
  beforeAll(async () => {
    server = await startTestServer({ SSE_MAX_BUFFER_BYTES: String(MAX_BUFFER) });
    otherKey = (await tenantKey(server, "other", ["read", "publish"])).secret;
  });
  afterAll(() => server.dispose());

  it("sends one tenant's events in order, without a gap, a repeat or another tenant's events, and without reading the log", async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const demo = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream?types=bulk.*`, auth);
    const before = await replayPages(server);
    const expected: number[] = [];
    for (let r = 0; r < 20; r++) {
      const mine = await publish(server, "demo", Array.from({ length: 10 }, (_, k) => ({ type: k % 3 ? "bulk.item" : "other.item", data: { r, k, pad: PAD } })));
      expect(mine.status).toBe(201);
      expected.push(...(mine.body.ids as number[]).filter((_, k) => k % 3 !== 0));
      // Another tenant's events land between ours, in the same stretch of the log.
      const theirs = await publish(server, "other", Array.from({ length: 10 }, () => ({ type: "bulk.item", data: { pad: PAD } })), { key: otherKey });
      expect(theirs.status).toBe(201);
    }
    await demo.until((c) => c.ids().includes(expected.at(-1)!), 30_000);
    expect(demo.ids()).toEqual(expected);
    const after = await replayPages(server);
    expect(after.memory).toBeGreaterThan(before.memory);
    expect(after.log).toBe(before.log);

    // A client that reconnects a moment later, from the middle of the burst, resumes from memory too.
    const resumeAt = expected[40];
    const again = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream?types=bulk.*`, { ...auth, "last-event-id": String(resumeAt) });
    await again.until((c) => c.ids().includes(expected.at(-1)!), 30_000);
    expect(again.ids()).toEqual(expected.slice(41));
    expect((await replayPages(server)).log).toBe(before.log);
    demo.close();
    again.close();
  });

  it("reads positions older than what memory holds from the log, and still joins the live edge without a gap", async () => {
    const small = await startTestServer({ SSE_MAX_BUFFER_BYTES: String(MAX_BUFFER), SSE_RECENT_BYTES: String(64 * 1024) });
    try {
      const ids: number[] = [];
      for (let r = 0; r < 10; r++) {
        const { body } = await publish(small, "demo", Array.from({ length: 10 }, () => ({ type: "bulk.item", data: { pad: PAD } })));
        ids.push(...(body.ids as number[]));
      }
      const client = await SseClient.open(`${small.url}/api/v1/tenants/demo/stream`, { authorization: `Bearer ${ADMIN_KEY}`, "last-event-id": "0" });
      await client.until((c) => c.ids().includes(ids.at(-1)!), 30_000);
      const { body } = await publish(small, "demo", { type: "bulk.item", data: {} });
      await client.until((c) => c.ids().includes(body.ids[0]), 30_000);
      expect(client.ids()).toEqual([...ids, body.ids[0]]);
      const pages = await replayPages(small);
      expect(pages.log).toBeGreaterThan(0);
      client.close();
    } finally {
      await small.dispose();
    }
  });
});
