import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logHead, walkHistory } from "./support/history-pages.js";
import { databaseBefore } from "./support/old-database.js";
import { testBackend } from "./support/postgres-backend.js";
import { ADMIN_KEY, api, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { createTenant } from "./support/tenants.js";

/**
 * Idempotency keys make publishing safe to retry: a repeated key returns
 * the first event's id and appends nothing, whether it comes as the
 * `Idempotency-Key` header, as a per-event `key` (also twice in one batch),
 * or from two requests racing. A key stands for one event: reused for a
 * different one (type, subject or data), it is refused with 422 and nothing
 * is appended. Keys are scoped to a tenant.
 */
describe("idempotency", () => {
  let server: TestServer;
  let stream: SseClient;

  beforeAll(async () => {
    server = await startTestServer();
    await createTenant(server, "acme");
    // A live admin stream: a replayed publish must not reach subscribers either.
    stream = await SseClient.open(`${server.url}/api/v1/stream`, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(stream.status).toBe(200);
  });
  afterAll(async () => {
    stream?.close();
    await server?.dispose();
  });

  it("appends once for the same Idempotency-Key header twice and returns the same id", async () => {
    const event = { type: "order.shipped", subject: "order-991", data: { carrier: "ups" } };
    const first = await publish(server, "demo", event, { headers: { "idempotency-key": "order-991-shipped" } });
    expect(first.status).toBe(201);
    expect(first.body.ids).toHaveLength(1);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const headAfterFirst = await logHead(server);
    expect(headAfterFirst).toBe(first.body.ids[0]);

    const second = await publish(server, "demo", event, { headers: { "idempotency-key": "order-991-shipped" } });
    expect(second.status).toBe(201);
    expect(second.body.ids).toEqual(first.body.ids);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await logHead(server)).toBe(headAfterFirst);

    // The same event with its fields in another order and other spacing is the same event: a replay.
    const reordered = await api(server, "/api/v1/tenants/demo/events", {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "order-991-shipped" },
      body: '{ "data": { "carrier": "ups" },\n  "subject": "order-991", "type": "order.shipped" }',
    });
    expect(reordered.status).toBe(201);
    expect((await reordered.json()).ids).toEqual(first.body.ids);
    expect(reordered.headers.get("idempotent-replayed")).toBe("true");

    // The same key works through the per-event field too: one key space.
    const viaField = await publish(server, "demo", { ...event, key: "order-991-shipped" });
    expect(viaField.body.ids).toEqual(first.body.ids);
    expect(viaField.headers.get("idempotent-replayed")).toBe("true");

    // A different key is a different event.
    const other = await publish(server, "demo", event, { headers: { "idempotency-key": "order-992-shipped" } });
    expect(other.body.ids[0]).toBeGreaterThan(first.body.ids[0]);
    expect(other.headers.get("idempotent-replayed")).toBeNull();
  });

  it("refuses a key reused for a different event with 422 idempotency_key_reused, appending nothing", async () => {
    const event = { type: "refund.issued", subject: "order-17", data: { amount: 40, currency: "EUR" } };
    const first = await publish(server, "demo", event, { headers: { "idempotency-key": "refund-17" } });
    expect(first.status).toBe(201);
    const head = await logHead(server);

    // Each way an event can differ: its data (a value, a field more), its subject, its type; by header or by field.
    const others = [
      { ...event, data: { amount: 400, currency: "EUR" } },
      { ...event, data: { ...event.data, note: "again" } },
      { ...event, subject: "order-18" },
      { ...event, type: "refund.requested" },
    ];
    for (const other of others) {
      for (const reply of [
        await publish(server, "demo", other, { headers: { "idempotency-key": "refund-17" } }),
        await publish(server, "demo", { ...other, key: "refund-17" }),
      ]) {
        expect(reply.status, JSON.stringify(other)).toBe(422);
        expect(reply.body.error).toBe("idempotency_key_reused");
        expect(reply.body.message).toContain('"refund-17"');
        expect(reply.body.message).toContain(`id ${first.body.ids[0]}`);
        expect(reply.headers.get("idempotent-replayed")).toBeNull();
      }
    }
    // In a batch, the whole batch is refused (it is atomic) and the reused key's event is named.
    const batch = await publish(server, "demo", [
      { type: "note.added", subject: "s-9", key: "fresh-9", data: { text: "new" } },
      { ...event, key: "refund-17", data: { amount: 1, currency: "EUR" } },
    ]);
    expect(batch.status).toBe(422);
    expect(batch.body.error).toBe("idempotency_key_reused");
    expect(batch.body.details).toEqual([{ index: 1, reason: expect.stringContaining('"refund-17"') }]);
    expect(await logHead(server)).toBe(head);
    // Nothing of it was kept: its fresh key is still free, so sending it now appends.
    const fresh = await publish(server, "demo", { type: "note.added", subject: "s-9", key: "fresh-9", data: { text: "new" } });
    expect(fresh.status).toBe(201);
    expect(fresh.body.ids[0]).toBeGreaterThan(head);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    const stored = (await walkHistory(server, "demo", { types: "refund.*" })).map((e) => e.data);
    expect(stored).toEqual([event.data]);

    // The first event itself is still a replay.
    const again = await publish(server, "demo", event, { headers: { "idempotency-key": "refund-17" } });
    expect(again.status).toBe(201);
    expect(again.body.ids).toEqual(first.body.ids);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });

  it("refuses the reuse when requests with one key and different events race: one appends, the rest get 422", async () => {
    const before = await logHead(server);
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => publish(server, "demo", { type: "job.queued", subject: "j-1", key: "job-1", data: { racer: i } })),
    );
    const appended = replies.filter((r) => r.status === 201);
    expect(appended).toHaveLength(1);
    expect(appended[0].headers.get("idempotent-replayed")).toBeNull();
    for (const r of replies.filter((r) => r !== appended[0])) {
      expect(r.status).toBe(422);
      expect(r.body.error).toBe("idempotency_key_reused");
    }
    expect(await logHead(server)).toBe(before + 1);
    const stored = await walkHistory(server, "demo", { subject: "j-1" });
    expect(stored.map((e) => e.data)).toEqual([{ racer: replies.indexOf(appended[0]) }]);
  });

  // An upgrade of a SQLite file from before fingerprints: no PostgreSQL database ever lacked them.
  it.skipIf(testBackend() === "postgres")("takes a key of an event from before fingerprints as standing for whatever is sent with it, as it did then", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-old-keys-"));
    databaseBefore(join(dir, "switchboard.db"), /`key_fingerprint`/, (sqlite) => {
      sqlite.prepare("INSERT INTO tenants (slug, name, created_at) VALUES ('demo', 'Demo', 1)").run();
      sqlite.prepare("INSERT INTO events (tenant, type, subject, data, key, ts) VALUES ('demo', 'order.shipped', 'o-1', '{\"carrier\":\"ups\"}', 'old-key', 1)").run();
    });
    const old = await startTestServer({}, dir);
    try {
      const again = await publish(old, "demo", { type: "order.shipped", subject: "o-1", data: { carrier: "dhl" }, key: "old-key" });
      expect(again.status).toBe(201);
      expect(again.body.ids).toEqual([1]);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      // A key used from now on is held to its event.
      expect((await publish(old, "demo", { type: "order.shipped", subject: "o-2", key: "new-key" })).status).toBe(201);
      expect((await publish(old, "demo", { type: "order.shipped", subject: "o-3", key: "new-key" })).status).toBe(422);
    } finally {
      await old.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("dedupes per-event keys inside one batch and across batches", async () => {
    const before = await logHead(server);
    const batch = await publish(server, "demo", [
      { type: "note.added", subject: "s-1", key: "m-1", data: { text: "hello" } },
      { type: "note.added", subject: "s-1", key: "m-2", data: { text: "how are you" } },
      { type: "note.added", subject: "s-1", key: "m-1", data: { text: "hello" } },
      { type: "note.added", subject: "s-1", data: { text: "no key" } },
    ]);
    expect(batch.status).toBe(201);
    const [m1, m2, m1again, noKey] = batch.body.ids;
    expect(m1again).toBe(m1);
    expect(new Set([m1, m2, noKey]).size).toBe(3);
    expect(m1).toBeGreaterThan(before);
    // Part of the batch was new, so this is not a replay.
    expect(batch.headers.get("idempotent-replayed")).toBeNull();
    expect(await logHead(server)).toBe(before + 3);

    // A second batch repeats m-2, adds m-3, and repeats m-3 within itself.
    const again = await publish(server, "demo", [
      { type: "note.added", subject: "s-1", key: "m-2", data: { text: "how are you" } },
      { type: "note.added", subject: "s-1", key: "m-3", data: { text: "bye" } },
      { type: "note.added", subject: "s-1", key: "m-3", data: { text: "bye" } },
    ]);
    expect(again.status).toBe(201);
    expect(again.body.ids[0]).toBe(m2);
    expect(again.body.ids[1]).toBe(again.body.ids[2]);
    expect(again.body.ids[1]).toBeGreaterThan(noKey);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(await logHead(server)).toBe(before + 4);

    // Repeating only known keys (as NDJSON this time) appends nothing and says so.
    const textOf = { "m-1": "hello", "m-2": "how are you", "m-3": "bye" };
    const ndjson = (["m-3", "m-1", "m-2"] as const).map((key) => JSON.stringify({ type: "note.added", subject: "s-1", key, data: { text: textOf[key] } })).join("\n");
    const res = await api(server, "/api/v1/tenants/demo/events", { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: ndjson });
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect((await res.json()).ids).toEqual([again.body.ids[1], m1, m2]);
    expect(await logHead(server)).toBe(before + 4);

    const texts = (await walkHistory(server, "demo", { subject: "s-1" })).map((e) => e.data.text);
    expect(texts).toEqual(["hello", "how are you", "no key", "bye"]);
  });

  it("keeps keys per tenant: the same key in another tenant appends", async () => {
    const demo = await publish(server, "demo", { type: "order.started", subject: "c-1" }, { headers: { "idempotency-key": "shared-key" } });
    const acme = await publish(server, "acme", { type: "order.started", subject: "c-1" }, { headers: { "idempotency-key": "shared-key" } });
    expect(demo.status).toBe(201);
    expect(acme.status).toBe(201);
    expect(acme.body.ids[0]).toBeGreaterThan(demo.body.ids[0]);
    expect(acme.headers.get("idempotent-replayed")).toBeNull();

    // Each tenant now dedupes against its own event.
    const demoAgain = await publish(server, "demo", { type: "order.started", subject: "c-1", key: "shared-key" });
    const acmeAgain = await publish(server, "acme", { type: "order.started", subject: "c-1", key: "shared-key" });
    expect(demoAgain.body.ids).toEqual(demo.body.ids);
    expect(acmeAgain.body.ids).toEqual(acme.body.ids);
    expect(acmeAgain.headers.get("idempotent-replayed")).toBe("true");
    expect((await walkHistory(server, "acme")).map((e) => e.id)).toEqual(acme.body.ids);
  });

  it("appends once when concurrent requests race with the same key", async () => {
    const before = await logHead(server);
    const racers = 12;
    const replies = await Promise.all(
      Array.from({ length: racers }, (_, i) =>
        i % 2 === 0
          ? publish(server, "demo", { type: "job.started", subject: "wf-7", data: { attempt: 1 } }, { headers: { "idempotency-key": "wf-7-start" } })
          : publish(server, "demo", [{ type: "job.started", subject: "wf-7", key: "wf-7-start", data: { attempt: 1 } }]),
      ),
    );
    for (const r of replies) expect(r.status).toBe(201);
    const ids = new Set(replies.map((r) => r.body.ids[0]));
    expect(ids.size).toBe(1);
    // Exactly one request appended; every other one was told it was a replay.
    const fresh = replies.filter((r) => r.headers.get("idempotent-replayed") !== "true");
    expect(fresh).toHaveLength(1);
    expect(await logHead(server)).toBe(before + 1);
    const stored = await walkHistory(server, "demo", { subject: "wf-7" });
    expect(stored).toHaveLength(1);
    expect(stored[0].data).toEqual({ attempt: 1 });
  });

  it("dedupes a key raced across concurrent batches, each event keeping its own id", async () => {
    const before = await logHead(server);
    const keys = ["k-a", "k-b", "k-c", "k-d"];
    // Four batches, each holding every key in a different order, sent at once.
    const orders = [keys, [...keys].reverse(), [keys[2], keys[0], keys[3], keys[1]], [keys[1], keys[3], keys[0], keys[2]]];
    const replies = await Promise.all(orders.map((order) => publish(server, "acme", order.map((key) => ({ type: "batch.race", subject: key, key })))));
    const idOf = new Map<string, number>();
    replies.forEach((r, i) => {
      expect(r.status).toBe(201);
      r.body.ids.forEach((id: number, j: number) => {
        const key = orders[i][j];
        if (!idOf.has(key)) idOf.set(key, id);
        expect(id, `key ${key}`).toBe(idOf.get(key));
      });
    });
    expect(new Set(idOf.values()).size).toBe(4);
    expect(await logHead(server)).toBe(before + 4);
    const stored = (await walkHistory(server, "acme", { types: "batch.race" })).map((e) => [e.subject, e.id]);
    expect(Object.fromEntries(stored)).toEqual(Object.fromEntries(idOf));
  });

  it("refuses an Idempotency-Key header on a batch, appending nothing", async () => {
    const before = await logHead(server);
    const res = await api(server, "/api/v1/tenants/demo/events", {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "batch-key" },
      body: JSON.stringify([{ type: "a.b" }, { type: "a.c" }]),
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toBe("invalid_request");
    expect(body.message).toMatch(/Idempotency-Key applies to a single event/);
    expect(await logHead(server)).toBe(before);
  });

  it("refuses an Idempotency-Key header on NDJSON rather than ignoring it", async () => {
    const before = await logHead(server);
    // Sent twice: ignoring the header would append the "retry" again.
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await api(server, "/api/v1/tenants/demo/events", {
        method: "POST",
        headers: { "content-type": "application/x-ndjson", "idempotency-key": "ndjson-key" },
        body: '{"type":"a.b"}\n',
      });
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.error).toBe("invalid_request");
      expect(body.message).toMatch(/Idempotency-Key applies to a single JSON event.*"key"/);
    }
    expect(await logHead(server)).toBe(before);
  });

  it("delivered each keyed event to the live stream exactly once", async () => {
    const sentinel = await publish(server, "demo", { type: "zz.sentinel" });
    await stream.until((c) => c.ids().includes(sentinel.body.ids[0]));
    const all = [...(await walkHistory(server, "demo")), ...(await walkHistory(server, "acme"))].map((e) => e.id).sort((a, b) => a - b);
    expect(stream.ids()).toEqual(all);
  });
});
