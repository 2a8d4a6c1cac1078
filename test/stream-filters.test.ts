import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { walkHistory } from "./support/history-pages.js";
import { tenantKey } from "./support/tenants.js";
import { ADMIN_KEY, api, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/**
 * Stream filters and positions: `types=` globs and `subject=` deliver only
 * matching events, both in the replay from the log and live; the admin
 * stream carries every tenant; `after=` and `lastEventID=` work like the
 * Last-Event-ID header; a tenant's stream never shows another tenant.
 */

interface Sent {
  id: number;
  tenant: string;
  type: string;
  subject: string | null;
}

const DEMO_TYPES = ["order.started", "ticket.status", "order.ended", "ticket.login", "note.added", "job.progress", "orderback.queued"];
const SUBJECTS = ["ada", "bob", null, "ada-2"];

interface StreamCase {
  name: string;
  path: string;
  key?: string;
  headers?: Record<string, string>;
  /** Which events it must deliver: its filter and its start position. */
  wants: (e: Sent) => boolean;
  tenant: "demo" | "acme" | null;
  client?: SseClient;
}

describe("stream filters and positions", () => {
  let server: TestServer;
  const sent: Sent[] = [];
  const keys = { demo: "", acme: "" };
  let seedHead = 0;
  let n = 0;

  /** A deterministic mix of events for a tenant: every type and subject, interleaved with the other tenant. */
  async function publishMix(count: number): Promise<void> {
    for (let i = 0; i < count; i++, n++) {
      const demo = { type: DEMO_TYPES[n % DEMO_TYPES.length], subject: SUBJECTS[n % SUBJECTS.length], data: { n } };
      const events = [demo];
      const res = await publish(server, "demo", n % 5 === 0 ? events : events[0]);
      expect(res.status).toBe(201);
      sent.push({ id: res.body.ids[0], tenant: "demo", type: demo.type, subject: demo.subject });
      if (n % 3 === 0) {
        // acme uses the same types and subjects: only the tenant tells them apart.
        const acme = { type: n % 2 ? "ticket.status" : "order.started", subject: n % 2 ? "ada" : "zed", data: { n } };
        const r = await publish(server, "acme", acme);
        expect(r.status).toBe(201);
        sent.push({ id: r.body.ids[0], tenant: "acme", type: acme.type, subject: acme.subject });
      }
    }
  }

  const demoAt = (k: number) => sent.filter((e) => e.tenant === "demo")[k].id;

  beforeAll(async () => {
    server = await startTestServer();
    keys.demo = (await tenantKey(server, "demo", ["read", "publish"])).secret;
    keys.acme = (await tenantKey(server, "acme", ["read"])).secret;
    await publishMix(42);
    seedHead = sent.at(-1)!.id;
  });
  afterAll(() => server?.dispose());

  it("delivers only matching events, replayed and live, from the position given by header or query", async () => {
    const mid = demoAt(20);
    const mid2 = demoAt(9);
    const isDemo = (e: Sent) => e.tenant === "demo";
    const cases: StreamCase[] = [
      {
        name: "types globs from after=0",
        path: "/api/v1/tenants/demo/stream?after=0&types=order.*,ticket.status",
        tenant: "demo",
        wants: (e) => isDemo(e) && (e.type.startsWith("order.") || e.type === "ticket.status"),
      },
      {
        name: "subject from Last-Event-ID",
        path: "/api/v1/tenants/demo/stream?subject=ada",
        headers: { "last-event-id": String(mid) },
        tenant: "demo",
        wants: (e) => isDemo(e) && e.subject === "ada" && e.id > mid,
      },
      {
        name: "types and subject from lastEventID=",
        path: `/api/v1/tenants/demo/stream?types=ticket.*&subject=ada&lastEventID=${mid2}`,
        tenant: "demo",
        wants: (e) => isDemo(e) && e.type.startsWith("ticket.") && e.subject === "ada" && e.id > mid2,
      },
      {
        name: "live only (no position) with suffix globs",
        path: "/api/v1/tenants/demo/stream?types=*.status,*.started",
        tenant: "demo",
        wants: (e) => isDemo(e) && e.id > seedHead && /\.(status|started)$/.test(e.type),
      },
      {
        name: "Last-Event-ID wins over after=",
        path: "/api/v1/tenants/demo/stream?after=0",
        headers: { "last-event-id": String(mid) },
        tenant: "demo",
        wants: (e) => isDemo(e) && e.id > mid,
      },
      {
        name: "after= wins over lastEventID=",
        path: `/api/v1/tenants/demo/stream?after=${mid}&lastEventID=0`,
        tenant: "demo",
        wants: (e) => isDemo(e) && e.id > mid,
      },
      {
        name: "demo key on its own tenant",
        path: "/api/v1/tenants/demo/stream?after=0",
        key: keys.demo,
        tenant: "demo",
        wants: isDemo,
      },
      {
        name: "acme key on its own tenant",
        path: "/api/v1/tenants/acme/stream",
        headers: { "last-event-id": "0" },
        key: keys.acme,
        tenant: "acme",
        wants: (e) => e.tenant === "acme",
      },
      {
        name: "acme key, subject shared with demo",
        path: "/api/v1/tenants/acme/stream?after=0&subject=ada&types=ticket.status",
        key: keys.acme,
        tenant: "acme",
        wants: (e) => e.tenant === "acme" && e.subject === "ada" && e.type === "ticket.status",
      },
      {
        name: "admin key on acme's stream",
        path: "/api/v1/tenants/acme/stream?after=0",
        tenant: "acme",
        wants: (e) => e.tenant === "acme",
      },
      {
        name: "admin stream, every tenant",
        path: "/api/v1/stream?after=0",
        tenant: null,
        wants: () => true,
      },
      {
        name: "admin stream with filters",
        path: "/api/v1/stream?after=0&types=ticket.*&subject=ada",
        tenant: null,
        wants: (e) => e.type.startsWith("ticket.") && e.subject === "ada",
      },
    ];

    for (const c of cases) {
      c.client = await SseClient.open(server.url + c.path, { authorization: `Bearer ${c.key ?? ADMIN_KEY}`, ...c.headers });
      expect(c.client.status, c.name).toBe(200);
    }
    // Live phase: more of the same mix while every stream is open.
    await publishMix(42);
    // Last events: acme's, then one demo event every demo and admin filter above matches.
    const acmeLast = await publish(server, "acme", { type: "ticket.status", subject: "ada" });
    sent.push({ id: acmeLast.body.ids[0], tenant: "acme", type: "ticket.status", subject: "ada" });
    const demoLast = await publish(server, "demo", { type: "ticket.status", subject: "ada" });
    sent.push({ id: demoLast.body.ids[0], tenant: "demo", type: "ticket.status", subject: "ada" });

    for (const c of cases) {
      const expected = sent.filter(c.wants).map((e) => e.id);
      // Each case must exercise what it claims: replay, live, or both.
      if (c.name.startsWith("live only")) expect(expected.every((id) => id > seedHead), c.name).toBe(true);
      else expect(expected.some((id) => id <= seedHead) && expected.some((id) => id > seedHead), c.name).toBe(true);
      // A filter (or a tenant) must leave something out, or the case would prove nothing about filtering.
      if (c.path !== "/api/v1/stream?after=0") expect(expected.length, c.name).toBeLessThan(sent.length);

      const client = c.client!;
      await client.until((cl) => cl.ids().includes(expected.at(-1)!) || cl.closed, 10_000);
      expect(client.ids(), c.name).toEqual(expected);
      expect(client.messages.some((m) => m.event === "reset"), c.name).toBe(false);
      for (const m of client.messages) {
        const data = JSON.parse(m.data);
        expect(m.event).toBe(data.type);
        expect(m.id).toBe(String(data.id));
        const event = sent.find((e) => e.id === data.id)!;
        expect(data).toMatchObject({ tenant: event.tenant, type: event.type, subject: event.subject });
        if (c.tenant !== null) expect(data.tenant, c.name).toBe(c.tenant);
      }
      client.close();
    }
  });

  it("agrees with the history API for the same filter", async () => {
    const fromHistory = (await walkHistory(server, "demo", { types: "order.*,ticket.status", subject: "ada" })).map((e) => e.id);
    const client = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream?types=order.*,ticket.status&subject=ada`, {
      authorization: `Bearer ${ADMIN_KEY}`,
      "last-event-id": "0",
    });
    expect(fromHistory.length).toBeGreaterThan(5);
    await client.until((c) => c.ids().includes(fromHistory.at(-1)!));
    expect(client.ids()).toEqual(fromHistory);
    client.close();
  });

  it("shows every tenant on the admin stream, with each event's tenant field", async () => {
    const client = await SseClient.open(`${server.url}/api/v1/stream`, { authorization: `Bearer ${ADMIN_KEY}` });
    const a = await publish(server, "acme", { type: "order.started", subject: "x" });
    const d = await publish(server, "demo", { type: "order.started", subject: "x" });
    await client.until((c) => c.ids().length === 2);
    expect(client.messages.map((m) => JSON.parse(m.data).tenant)).toEqual(["acme", "demo"]);
    expect(client.ids()).toEqual([a.body.ids[0], d.body.ids[0]]);
    client.close();
  });

  it("refuses the admin stream to tenant keys with 403", async () => {
    for (const key of [keys.demo, keys.acme]) {
      const res = await api(server, "/api/v1/stream?after=0", { key });
      expect(res.status).toBe(403);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const body = await res.json();
      expect(body.error).toBe("forbidden");
      expect(body.message).toMatch(/admin key/);
    }
  });

  it("keeps a tenant key's live stream free of other tenants' events under load", async () => {
    const acme = await SseClient.open(`${server.url}/api/v1/tenants/acme/stream`, { authorization: `Bearer ${keys.acme}` });
    const demo = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream`, { authorization: `Bearer ${keys.demo}` });
    const acmeIds: number[] = [];
    const demoIds: number[] = [];
    // Both tenants publish at once, in batches that land in the same commits.
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const batch = Array.from({ length: 20 }, (_, j) => ({ type: "ticket.status", subject: "ada", data: { i, j } }));
        const [a, d] = await Promise.all([publish(server, "acme", batch), publish(server, "demo", batch)]);
        acmeIds.push(...a.body.ids);
        demoIds.push(...d.body.ids);
      }),
    );
    acmeIds.sort((x, y) => x - y);
    demoIds.sort((x, y) => x - y);
    const lastAcme = acmeIds.at(-1)!;
    const lastDemo = demoIds.at(-1)!;
    await acme.until((c) => c.ids().includes(lastAcme));
    await demo.until((c) => c.ids().includes(lastDemo));
    expect(acme.ids()).toEqual(acmeIds);
    expect(demo.ids()).toEqual(demoIds);
    expect(acme.messages.every((m) => JSON.parse(m.data).tenant === "acme")).toBe(true);
    expect(demo.messages.every((m) => JSON.parse(m.data).tenant === "demo")).toBe(true);
    acme.close();
    demo.close();
  });
});
