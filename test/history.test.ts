import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { historyPage, walkHistory, type EventJson } from "./support/history-pages.js";
import { api, publish, startTestServer, type TestServer } from "./support/server.js";
import { createTenant } from "./support/tenants.js";

/**
 * The history API: pages after a position, filtered by type globs and
 * subject, walked to the end with the `next` cursor, with the log's `head`,
 * in the same JSON shape streams use.
 */

interface Sent {
  id: number;
  tenant: string;
  type: string;
  subject: string | null;
  data: Record<string, unknown>;
}

const TYPES = ["order.started", "order.ended", "order.recording.ready", "ticket.status", "ticket.login", "job.progress", "orderback.queued"];

describe("history", () => {
  let server: TestServer;
  /** Every event published, in id order, as the producer sent it. */
  const sent: Sent[] = [];
  let publishedFrom = 0;
  let publishedTo = 0;

  const ofTenant = (tenant: string) => sent.filter((e) => e.tenant === tenant);

  beforeAll(async () => {
    server = await startTestServer();
    await createTenant(server, "acme");

    publishedFrom = Date.now();
    // 150 demo events (more than the default page of 100) interleaved with acme's, so demo's ids have gaps.
    for (let round = 0; round < 15; round++) {
      const batch = Array.from({ length: 10 }, (_, i) => {
        const n = round * 10 + i;
        return { type: TYPES[n % TYPES.length], subject: n % 3 === 0 ? `ada` : n % 3 === 1 ? `bob` : null, data: { n, nested: { list: [n, "x"] } } };
      });
      const demo = await publish(server, "demo", batch);
      expect(demo.status).toBe(201);
      batch.forEach((e, i) => sent.push({ id: demo.body.ids[i], tenant: "demo", type: e.type, subject: e.subject, data: e.data }));
      const acme = await publish(server, "acme", { type: "order.started", subject: "ada", data: { round } });
      expect(acme.status).toBe(201);
      sent.push({ id: acme.body.ids[0], tenant: "acme", type: "order.started", subject: "ada", data: { round } });
    }
    // Data that must come back byte-for-byte: unicode, quotes, line breaks, markup.
    const tricky = { text: 'line one\nline two\r\n"quoted" </script><b>&amp;', emoji: "📞 ☎", n: -1.5e-7, nothing: null, flag: false, deep: { a: [{ b: [] }] } };
    const last = await publish(server, "demo", { type: "note.added", subject: "session 42 / ü", data: tricky });
    expect(last.status).toBe(201);
    sent.push({ id: last.body.ids[0], tenant: "demo", type: "note.added", subject: "session 42 / ü", data: tricky });
    // An event without subject or data.
    const bare = await publish(server, "demo", { type: "ticket.logout" });
    sent.push({ id: bare.body.ids[0], tenant: "demo", type: "ticket.logout", subject: null, data: {} });
    publishedTo = Date.now();
  });
  afterAll(() => server?.dispose());

  const strip = (e: EventJson): Sent => ({ id: e.id, tenant: e.tenant, type: e.type, subject: e.subject, data: e.data });

  it("returns events in the JSON shape {id, tenant, type, subject, data, ts} with ts an ISO string", async () => {
    const page = await historyPage(server, "demo", { after: 0, limit: 1000 });
    expect(page.events.length).toBe(ofTenant("demo").length);
    for (const e of page.events) {
      expect(Object.keys(e).sort()).toEqual(["data", "id", "subject", "tenant", "ts", "type"]);
      expect(typeof e.id).toBe("number");
      expect(e.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      const ts = Date.parse(e.ts);
      expect(ts).toBeGreaterThanOrEqual(publishedFrom);
      expect(ts).toBeLessThanOrEqual(publishedTo);
    }
    // Server time never goes backwards along the log.
    const times = page.events.map((e) => Date.parse(e.ts));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(page.events.map(strip)).toEqual(ofTenant("demo"));
  });

  it("pages with after and limit, defaulting to 100 events", async () => {
    const demo = ofTenant("demo");
    const first = await historyPage(server, "demo");
    expect(first.events.map((e) => e.id)).toEqual(demo.slice(0, 100).map((e) => e.id));
    expect(first.next).toBe(demo[99].id);

    const some = await historyPage(server, "demo", { after: demo[9].id, limit: 5 });
    expect(some.events.map((e) => e.id)).toEqual(demo.slice(10, 15).map((e) => e.id));
    expect(some.next).toBe(demo[14].id);

    // after need not be one of the tenant's ids: an acme id in the middle works as a position.
    const acmeId = ofTenant("acme")[3].id;
    const fromAcme = await historyPage(server, "demo", { after: acmeId, limit: 3 });
    expect(fromAcme.events.map((e) => e.id)).toEqual(demo.filter((e) => e.id > acmeId).slice(0, 3).map((e) => e.id));
    expect(fromAcme.events.every((e) => e.tenant === "demo")).toBe(true);

    const one = await historyPage(server, "demo", { after: 0, limit: 1 });
    expect(one.events.map((e) => e.id)).toEqual([demo[0].id]);
    const max = await historyPage(server, "demo", { after: 0, limit: 1000 });
    expect(max.events).toHaveLength(demo.length);
  });

  it("walks the whole log with the next cursor, and reports head", async () => {
    const head = sent.at(-1)!.id;
    for (const limit of [1, 7, 10, 100]) {
      const seen: number[] = [];
      let after = 0;
      let pages = 0;
      for (;;) {
        const page = await historyPage(server, "demo", { after, limit });
        pages++;
        expect(page.head).toBe(head);
        expect(page.events.length).toBeLessThanOrEqual(limit);
        seen.push(...page.events.map((e) => e.id));
        if (page.events.length < limit) {
          // The short last page brings the cursor to the head: nothing left to read.
          expect(page.next).toBe(head);
          break;
        }
        expect(page.next).toBe(page.events.at(-1)!.id);
        after = page.next;
      }
      expect(seen, `limit ${limit}`).toEqual(ofTenant("demo").map((e) => e.id));
      expect(pages).toBe(Math.floor(ofTenant("demo").length / limit) + 1);
    }
    // Past the end: an empty page whose next is the head.
    const end = await historyPage(server, "demo", { after: head, limit: 10 });
    expect(end).toEqual({ events: [], head, next: head });
  });

  it("head moves with every append, in every tenant's view", async () => {
    const before = await historyPage(server, "acme", { limit: 1 });
    const { body } = await publish(server, "acme", { type: "order.ended", subject: "zed" });
    sent.push({ id: body.ids[0], tenant: "acme", type: "order.ended", subject: "zed", data: {} });
    const acme = await historyPage(server, "acme", { limit: 1 });
    const demo = await historyPage(server, "demo", { limit: 1 });
    expect(acme.head).toBe(body.ids[0]);
    expect(acme.head).toBeGreaterThan(before.head);
    expect(demo.head).toBe(acme.head);
  });

  it("filters by type globs, like order.*,ticket.status", async () => {
    const demo = ofTenant("demo");
    const callsAndStatus = await walkHistory(server, "demo", { types: "order.*,ticket.status", limit: 9 });
    const expected = demo.filter((e) => e.type.startsWith("order.") || e.type === "ticket.status");
    expect(callsAndStatus.map(strip)).toEqual(expected);
    // The glob covers deeper names (order.recording.ready) but not other topics sharing a prefix (orderback.queued).
    const types = new Set(callsAndStatus.map((e) => e.type));
    expect([...types].sort()).toEqual(["order.ended", "order.recording.ready", "order.started", "ticket.status"]);

    const exact = await walkHistory(server, "demo", { types: "ticket.login" });
    expect(exact.map((e) => e.id)).toEqual(demo.filter((e) => e.type === "ticket.login").map((e) => e.id));
    const suffix = await walkHistory(server, "demo", { types: "*.status,*.ready" });
    expect(suffix.map((e) => e.id)).toEqual(demo.filter((e) => /\.(status|ready)$/.test(e.type)).map((e) => e.id));
    const everything = await walkHistory(server, "demo", { types: "*" });
    expect(everything.map((e) => e.id)).toEqual(demo.map((e) => e.id));
    expect(await walkHistory(server, "demo", { types: "nothing.matches" })).toEqual([]);
  });

  it("filters by subject, alone and with types", async () => {
    const demo = ofTenant("demo");
    const ada = await walkHistory(server, "demo", { subject: "ada", limit: 8 });
    expect(ada.map(strip)).toEqual(demo.filter((e) => e.subject === "ada"));
    const adaCalls = await walkHistory(server, "demo", { subject: "ada", types: "order.*" });
    expect(adaCalls.map((e) => e.id)).toEqual(demo.filter((e) => e.subject === "ada" && e.type.startsWith("order.")).map((e) => e.id));
    const odd = await walkHistory(server, "demo", { subject: "session 42 / ü" });
    expect(odd.map(strip)).toEqual([demo.find((e) => e.type === "note.added")]);
    // acme's events with the same subject stay in acme.
    const acmeAda = await walkHistory(server, "acme", { subject: "ada" });
    expect(acmeAda.map(strip)).toEqual(ofTenant("acme").filter((e) => e.subject === "ada"));
  });

  it("pages a filtered read with next: a full page ends at its last match, the last page at head", async () => {
    const matches = ofTenant("demo").filter((e) => e.type === "ticket.status");
    const head = sent.at(-1)!.id;
    const first = await historyPage(server, "demo", { after: 0, limit: 4, types: "ticket.status" });
    expect(first.events.map((e) => e.id)).toEqual(matches.slice(0, 4).map((e) => e.id));
    expect(first.next).toBe(matches[3].id);
    const last = await historyPage(server, "demo", { after: matches.at(-2)!.id, limit: 4, types: "ticket.status" });
    expect(last.events.map((e) => e.id)).toEqual([matches.at(-1)!.id]);
    expect(last.next).toBe(head);
  });

  it("never shows another tenant's events", async () => {
    const acme = await walkHistory(server, "acme");
    expect(acme.map(strip)).toEqual(ofTenant("acme"));
    expect(acme.every((e) => e.tenant === "acme")).toBe(true);
    const res = await api(server, "/api/v1/tenants/acme/events?limit=1000");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const text = await res.text();
    expect(text).not.toContain('"tenant":"demo"');
  });
});
