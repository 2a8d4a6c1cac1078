import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyPage, walkHistory } from "./support/history-pages.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/**
 * Filters that one bounded log read cannot answer exactly (a subject and
 * types together; a glob matching more types than a read merges) still
 * give what the API promises: a page shorter than `limit` is complete up to
 * the head, and a stream's catch-up misses nothing.
 */
describe("history and catch-up with filters read in bounded steps", () => {
  let server: TestServer;
  const clients: SseClient[] = [];
  let rare: number;
  let manyIds: number[];

  beforeAll(async () => {
    server = await startTestServer();
    // More events of the subject than one read examines (4,000), then the one that matches.
    const noise = Array.from({ length: 4500 }, (_, i) => ({ type: "order.noise", subject: "ada", data: { i } }));
    // In requests of at most MAX_BATCH_EVENTS (1,000).
    for (let at = 0; at < noise.length; at += 900) expect((await publish(server, "demo", noise.slice(at, at + 900))).status).toBe(201);
    const { body } = await publish(server, "demo", [{ type: "ticket.status", subject: "ada", data: {} }, { type: "ticket.status", subject: "bob", data: {} }]);
    rare = body.ids[0];
    // 40 types under one topic: more than one read merges (32), interleaved with other events.
    const many = Array.from({ length: 80 }, (_, i) => (i % 2 === 0 ? { type: `many.t${i % 40}`, data: {} } : { type: "other.x", data: {} }));
    manyIds = (await publish(server, "demo", many)).body.ids.filter((_: number, i: number) => i % 2 === 0);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.dispose();
  });

  it("answers a short page only when it is complete through the head", async () => {
    const page = await historyPage(server, "demo", { subject: "ada", types: "ticket.*", limit: 10 });
    expect(page.events.map((e) => e.id)).toEqual([rare]);
    expect(page.next).toBe(page.head);
    expect((await walkHistory(server, "demo", { subject: "ada", types: "ticket.*" })).map((e) => e.id)).toEqual([rare]);

    expect((await walkHistory(server, "demo", { types: "many.*", limit: 7 })).map((e) => e.id)).toEqual(manyIds);
    const nothing = await historyPage(server, "demo", { types: "nomatch.*" });
    expect(nothing.events).toEqual([]);
    expect(nothing.next).toBe(nothing.head);
  });

  it("catches a stream up through every step", async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const both = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream?subject=ada&types=ticket.*&after=0`, auth);
    const many = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream?types=many.*&after=0`, auth);
    clients.push(both, many);
    await both.until((c) => c.ids().length >= 1);
    await many.until((c) => c.ids().length >= manyIds.length);
    // Then live: the next matching event follows, nothing else came in between.
    const { body } = await publish(server, "demo", [{ type: "ticket.status", subject: "ada", data: {} }, { type: "many.t3", data: {} }]);
    await both.until((c) => c.ids().length >= 2);
    await many.until((c) => c.ids().length >= manyIds.length + 1);
    expect(both.ids().map(Number)).toEqual([rare, body.ids[0]]);
    expect(many.ids().map(Number)).toEqual([...manyIds, body.ids[1]]);
  });
});
