import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { walkHistory } from "./support/history-pages.js";
import { seeded } from "./support/random.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/**
 * Catch-up pages of JSON streams are encoded by the log's reader threads
 * and cut on the event loop by byte offsets. Multi-byte text, events of
 * every size and pages cut mid-way must still give every stream exactly
 * the events its history holds, byte for byte.
 */
describe("replay of frames encoded by the log's readers", () => {
  let server: TestServer;
  beforeAll(async () => {
    // Nothing kept in memory: every page is read from the log. The smallest buffer: pages of 8 KB, cut often.
    server = await startTestServer({ SSE_RECENT_BYTES: "0", SSE_MAX_BUFFER_BYTES: String(16 * 1024) });
    const random = seeded(7);
    const words = ["é", "日本語", "🚀", "plain", "\\\"quoted\\\"", "line\u2028sep", "ä".repeat(300)];
    for (let b = 0; b < 6; b++) {
      const batch = Array.from({ length: 100 }, (_, i) => ({
        type: i % 3 === 0 ? "frames.big" : "frames.small",
        subject: i % 5 === 0 ? `s-${words[i % 4]}` : null,
        data: { b, i, text: Array.from({ length: 1 + Math.floor(random() * (i % 3 === 0 ? 400 : 5)) }, () => words[Math.floor(random() * words.length)]).join(" ") },
      }));
      expect((await publish(server, "demo", batch)).status).toBe(201);
    }
  });
  afterAll(() => server.dispose());

  it.each([
    ["every event", ""],
    ["a type glob", "?types=frames.big"],
    ["a subject", `?subject=${encodeURIComponent("s-é")}`],
  ])("replays %s from the start exactly as history has it", async (_, query) => {
    const params = new URLSearchParams(query.slice(1));
    const history = await walkHistory(server, "demo", Object.fromEntries(params));
    expect(history.length).toBeGreaterThan(0);
    const client = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream${query}`, { authorization: `Bearer ${ADMIN_KEY}`, "last-event-id": "0" });
    await client.until((c) => c.messages.length >= history.length);
    expect(client.messages.map((m) => JSON.parse(m.data))).toEqual(history);
    expect(client.messages.map((m) => m.event)).toEqual(history.map((e) => e.type));
    expect(client.ids()).toEqual(history.map((e) => e.id));
    client.close();
  });
});
