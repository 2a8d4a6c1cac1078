import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { partialsOf, sessionCookie } from "./support/console.js";
import { query } from "./support/database.js";
import { historyPage } from "./support/history-pages.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { publishUpdate, SESSION_SECRET, sessionWithoutRead } from "./support/mercure.js";
import { createTenant } from "./support/tenants.js";

/** The tenant's rows of the topics summary, by topic, as stored. */
async function topicRows(server: TestServer, tenant: string) {
  type Row = { topic: string; updates: number; last_event_id: number; last_update_id: string; last_type: string | null; last_private: number; last_published_at: number };
  return query<Row>(
    server,
    "SELECT topic, updates, last_event_id, last_update_id, last_type, last_private, last_published_at FROM mercure_topics WHERE tenant = ? ORDER BY topic",
    [tenant],
  );
}

/** The log's mercure.update event of an update id. */
async function eventOf(server: TestServer, tenant: string, updateId: string) {
  const { events } = await historyPage(server, tenant, { types: "mercure.update", subject: updateId });
  expect(events).toHaveLength(1);
  return { id: events[0].id, ts: Date.parse(events[0].ts) };
}

const page = async (server: TestServer, path: string, cookie: string) => {
  const res = await fetch(server.url + path, { headers: { cookie }, redirect: "manual" });
  expect(res.status, path).toBe(200);
  return res.text();
};

/**
 * The Mercure topics summary (the `mercure_topics` projection) and the
 * console's Mercure page: counts kept in step with the log in the append
 * transaction, kept through retention, and a private update's data shown
 * only to a viewer whose key would receive it from the hub.
 */
describe("console: Mercure topics and updates", () => {
  let server: TestServer;
  let cookie: string;
  const open: SseClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({ SESSION_SECRET });
    await createTenant(server, "acme");
    await createTenant(server, "other");
    cookie = await sessionCookie(server);
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(() => server?.dispose());

  it("counts each update on its canonical topic, with the topic's last update, per tenant", async () => {
    await publishUpdate(server, "acme", { topic: ["https://example.com/books/1", "https://example.com/books"], data: "one", id: "b1-v1", type: "book.updated" });
    await publishUpdate(server, "acme", { topic: "https://example.com/books/2", data: "two", private: "on" });
    await publishUpdate(server, "acme", { topic: "https://example.com/books/1", data: "three", id: "b1-v2", private: "on" });
    // Through the events API as well: the same type, the same summary.
    const viaEvents = await publish(server, "acme", { type: "mercure.update", subject: "b1-v3", data: { topics: ["https://example.com/books/1"], data: "four", type: "book.checked" } });
    expect(viaEvents.status, JSON.stringify(viaEvents.body)).toBe(201);
    // An alternate topic counts only where it is an update's canonical topic.
    await publishUpdate(server, "acme", { topic: "https://example.com/books", data: "list", id: "list-1" });
    await publishUpdate(server, "other", { topic: "https://example.com/books/1", data: "elsewhere", id: "o1" });

    const b1 = await eventOf(server, "acme", "b1-v3");
    const b2 = (await historyPage(server, "acme", { types: "mercure.update" })).events.find((e) => (e.data.topics as string[])[0] === "https://example.com/books/2")!;
    const list = await eventOf(server, "acme", "list-1");
    expect(await topicRows(server, "acme")).toEqual([
      {
        topic: "https://example.com/books",
        updates: 1,
        last_event_id: list.id,
        last_update_id: "list-1",
        last_type: null,
        last_private: 0,
        last_published_at: list.ts,
      },
      {
        topic: "https://example.com/books/1",
        updates: 3,
        last_event_id: b1.id,
        last_update_id: "b1-v3",
        last_type: "book.checked",
        last_private: 0,
        last_published_at: b1.ts,
      },
      {
        topic: "https://example.com/books/2",
        updates: 1,
        last_event_id: b2.id,
        last_update_id: b2.subject,
        last_type: null,
        last_private: 1,
        last_published_at: Date.parse(b2.ts),
      },
    ]);
    expect(b2.subject).toMatch(/^urn:uuid:/);
    expect((await topicRows(server, "other")).map((r) => [r.topic, r.updates, r.last_update_id])).toEqual([["https://example.com/books/1", 1, "o1"]]);

    // A rejected update (a batch whose second event is not an update) counts nothing.
    const rejected = await publish(server, "acme", [
      { type: "mercure.update", subject: "b1-v4", data: { topics: ["https://example.com/books/1"], data: "five" } },
      { type: "mercure.update", subject: "b1-v5", data: { topics: [] } },
    ]);
    expect(rejected.status).toBe(400);
    expect((await topicRows(server, "acme")).find((r) => r.topic === "https://example.com/books/1")?.updates).toBe(3);
  });

  it("lists the topics on the tenant's Mercure page, most recently published first, with the updates' ids, topics, types and data", async () => {
    const html = await page(server, "/t/acme/mercure", cookie);
    const topics = [...html.matchAll(/data-topic="([^"]+)"/g)].map((m) => m[1]);
    expect(topics).toEqual(["https://example.com/books", "https://example.com/books/1", "https://example.com/books/2"]);
    expect(html).toMatch(/<b class="update-count">3<\/b> updates/);
    // The navigation marks the page's section.
    expect(html).toContain('<a href="/t/acme/mercure" aria-current="page">Mercure</a>');
    // The admin's key reads the tenant, so it gets private updates from the hub: here their data shows too.
    expect(html).toContain("b1-v2");
    expect(html).toContain('<pre class="update-data">three</pre>');
    expect(html).toContain('<span class="badge private">private</span>');
    expect(html).toContain("book.checked");
    // Another tenant's updates are not on this page.
    expect(html).not.toContain("elsewhere");
  });

  it("pages the topics by keyset, 50 a page, updates committed together in log order", async () => {
    await createTenant(server, "many");
    // One request: one commit, one time for all 53; the log position orders them.
    const batch = Array.from({ length: 53 }, (_, i) => ({ type: "mercure.update", subject: `u${i}`, data: { topics: [`urn:many:${i}`], data: `d${i}` } }));
    expect((await publish(server, "many", batch)).status).toBe(201);
    const shown = (html: string) => [...html.matchAll(/data-topic="urn:many:(\d+)"/g)].map((m) => Number(m[1]));
    const first = await page(server, "/t/many/mercure", cookie);
    expect(shown(first)).toEqual(Array.from({ length: 50 }, (_, i) => 52 - i));
    const older = /<a href="(\/t\/many\/mercure\?before=[^"]+)" rel="next">/.exec(first)![1].replaceAll("&amp;", "&");
    const second = await page(server, older, cookie);
    expect(shown(second)).toEqual([2, 1, 0]);
    expect(second).not.toContain('rel="next"');
    // A cursor that is not one reads as the first page.
    expect(shown(await page(server, "/t/many/mercure?before=junk", cookie))).toEqual(shown(first));
  });

  it("never shows an update's data in the activity feeds every viewer shares, only its topic and whether it is private", async () => {
    await publishUpdate(server, "acme", { topic: "urn:feed:secret", data: "SECRET-IN-FEED", id: "feed-1", private: "on" });
    for (const path of ["/t/acme", "/t/acme/feed", "/t/acme/feed?topic=mercure&feed=all"]) {
      const html = await page(server, path, cookie);
      expect(html, path).toContain("Private update on urn:feed:secret");
      expect(html, path).not.toContain("SECRET-IN-FEED");
    }
  });

  it("keeps a private update's data from a viewer whose key could not receive it, on the page and live, in a stream group of its own", async () => {
    const withoutRead = await sessionWithoutRead(server, "acme");
    await publishUpdate(server, "acme", { topic: "urn:private:one", data: "SECRET-ON-PAGE", id: "p-1", private: "on" });
    await publishUpdate(server, "acme", { topic: "urn:public:one", data: "PUBLIC-ON-PAGE", id: "q-1" });

    // The page: on PostgreSQL the node learns of the session when the change is announced.
    let html = "";
    await vi.waitFor(
      async () => {
        const res = await fetch(`${server.url}/t/acme/mercure`, { headers: { cookie: withoutRead }, redirect: "manual" });
        expect(res.status).toBe(200);
        html = await res.text();
      },
      { timeout: 30_000, interval: 50 },
    );
    expect(html).toContain('data-topic="urn:private:one"');
    expect(html).toContain("p-1");
    expect(html).toContain('<span class="badge private">private</span>');
    expect(html).toContain("Data hidden: a private update");
    expect(html).not.toContain("SECRET-ON-PAGE");
    expect(html).not.toContain("three");
    expect(html).toContain("PUBLIC-ON-PAGE");
    // The viewer with the right sees the same update's data.
    expect(await page(server, "/t/acme/mercure", cookie)).toContain("SECRET-ON-PAGE");

    // Live: both pages' streams from the same head; each gets its own render of a new private update.
    const head = Number(/data-head="(\d+)"/.exec(html)![1]);
    const reader = await SseClient.open(`${server.url}/t/acme/live/mercure?after=${head}`, { cookie });
    const other = await SseClient.open(`${server.url}/t/acme/live/mercure?after=${head}`, { cookie: withoutRead });
    open.push(reader, other);
    expect([reader.status, other.status]).toEqual([200, 200]);
    await publishUpdate(server, "acme", { topic: "urn:private:one", data: "SECRET-LIVE", id: "p-2", private: "on" });
    const itemOf = async (s: SseClient) => {
      await s.until((c) => c.messages.some((m) => m.data.includes("p-2")));
      const parts = s.messages.flatMap((m) => partialsOf(m.data));
      return { feed: parts.filter((p) => p.target === "feed-items").map((p) => p.html).join(""), topics: parts.filter((p) => p.target === "mercure-topic-rows").map((p) => p.html).join("") };
    };
    const seen = await itemOf(reader);
    const hidden = await itemOf(other);
    expect(seen.feed).toContain("SECRET-LIVE");
    expect(hidden.feed).toContain("p-2");
    expect(hidden.feed).toContain("Data hidden: a private update");
    expect(hidden.feed).not.toContain("SECRET-LIVE");
    // The topic's row moves up with its new count for both: the summary holds no data.
    for (const topics of [seen.topics, hidden.topics]) expect(topics).toMatch(/data-topic="urn:private:one"[\s\S]*<b class="update-count">2<\/b> updates/);
  });
});

describe("Mercure topics through retention", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ RETENTION_MAX_EVENTS: "2", RETENTION_MAX_AGE: "0", RETENTION_INTERVAL_MS: "100" });
  });
  afterAll(() => server?.dispose());

  it("keeps counting what was published after retention prunes the updates from the log", async () => {
    for (let n = 1; n <= 5; n++) await publishUpdate(server, "demo", { topic: "urn:kept", data: `v${n}`, id: `kept-${n}` });
    // Retention keeps the last two events.
    await vi.waitFor(async () => expect((await historyPage(server, "demo", { types: "mercure.update" })).events.map((e) => e.subject)).toEqual(["kept-4", "kept-5"]), {
      timeout: 30_000,
      interval: 100,
    });
    expect((await topicRows(server, "demo")).map((r) => [r.topic, r.updates, r.last_update_id])).toEqual([["urn:kept", 5, "kept-5"]]);
    const html = await page(server, "/t/demo/mercure", await sessionCookie(server, ADMIN_KEY));
    expect(html).toMatch(/<b class="update-count">5<\/b> updates/);
    // The feed shows what the log still holds.
    expect(html).toContain("kept-5");
    expect(html).not.toContain("kept-3");
  });
});
