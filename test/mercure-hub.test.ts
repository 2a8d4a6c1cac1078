import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, api, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { tenantKey } from "./support/tenants.js";

/**
 * The Mercure hub of a tenant, with Switchboard API keys as credentials:
 * form-encoded publishes answered with the update's id, SSE frames as the
 * protocol shapes them, updates kept in the log (so they replay by
 * Last-Event-ID and show in Switchboard's own history), and the protocol's
 * refusals as 400s that say what is wrong.
 */
describe("Mercure hub", () => {
  let server: TestServer;
  let publisher: string;
  let reader: string;
  const hub = (tenant = "acme") => `/api/v1/tenants/${tenant}/mercure`;

  const post = (form: Record<string, string | string[]>, key = publisher, tenant = "acme") => {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(form)) for (const v of [value].flat()) body.append(name, v);
    return api(server, hub(tenant), { method: "POST", key, headers: { "content-type": "application/x-www-form-urlencoded" }, body });
  };
  const open = (query: string, headers: Record<string, string> = {}) =>
    SseClient.open(`${server.url}${hub()}?${query}`, { authorization: `Bearer ${reader}`, ...headers });

  beforeAll(async () => {
    server = await startTestServer();
    publisher = (await tenantKey(server, "acme", ["publish"])).secret;
    reader = (await tenantKey(server, "acme", ["read"])).secret;
  });
  afterAll(() => server?.dispose());

  it("answers a publish with the update's id as text/plain, its own or a urn:uuid the hub made", async () => {
    const given = await post({ topic: "https://example.com/books/1", data: "x", id: "book-1-v1" });
    expect(given.status).toBe(200);
    expect(given.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await given.text()).toBe("book-1-v1");
    const made = await post({ topic: "https://example.com/books/1", data: "y" });
    expect(made.status).toBe(200);
    expect(await made.text()).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
  });

  it("delivers matching updates live with the publisher's id, type, retry and every line of data", async () => {
    const stream = await open("topic=https://example.com/books/2&topic=https://example.com/other");
    expect(stream.status).toBe(200);
    expect(stream.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(stream.headers["last-event-id"]).toBeUndefined();
    await post({ topic: "https://example.com/unrelated", data: "not for this stream" });
    await post({ topic: ["https://example.com/alt", "https://example.com/books/2"], data: "first line\nsecond line\r\n\nlast", id: "b2", type: "book.updated", retry: "5000" });
    await stream.until((s) => s.messages.length >= 1);
    expect(stream.messages).toEqual([{ id: "b2", event: "book.updated", data: "first line\nsecond line\n\nlast" }]);
    expect(stream.retry).toBe(5000);
    stream.close();
  });

  it("resumes after the update a Last-Event-ID names, and says so in the 0.x and 1.0 response headers", async () => {
    for (const [id, data] of [["r1", "one"], ["r2", "two"], ["r3", "three"]]) expect((await post({ topic: "urn:resume", data, id })).status).toBe(200);
    const byHeader = await open("topic=urn:resume", { "last-event-id": "r1" });
    await byHeader.until((s) => s.messages.length >= 2);
    expect(byHeader.messages.map((m) => m.id)).toEqual(["r2", "r3"]);
    expect(byHeader.headers["last-event-id"]).toBe("r1");
    byHeader.close();

    const byQuery = await open("match=urn:resume&last_event_id=r2");
    await byQuery.until((s) => s.messages.length >= 1);
    expect(byQuery.messages.map((m) => m.id)).toEqual(["r3"]);
    expect(byQuery.headers["mercure-last-event-id"]).toBe("r2");
    byQuery.close();
  });

  it("replays everything retained for earliest and for an id it does not hold, answering earliest", async () => {
    for (const [query, header] of [["topic=urn:resume&lastEventID=earliest", "last-event-id"], ["match=urn:resume&last_event_id=never-published", "mercure-last-event-id"]]) {
      const stream = await open(query);
      await stream.until((s) => s.messages.length >= 3);
      expect(stream.messages.map((m) => m.data)).toEqual(["one", "two", "three"]);
      expect(stream.headers[header]).toBe("earliest");
      stream.close();
    }
  });

  it("keeps each update in the log as a mercure.update event, readable through history", async () => {
    const res = await api(server, "/api/v1/tenants/acme/events?types=mercure.update&subject=r2", { key: reader });
    const { events } = await res.json();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "mercure.update", subject: "r2", data: { topics: ["urn:resume"], data: "two" } });
  });

  it("refuses what the protocol forbids, with 400 or 413 and the reason, publishing nothing", async () => {
    const cases: [Record<string, string | string[]>, number, RegExp][] = [
      [{ data: "no topic" }, 400, /needs a topic/],
      [{ topic: "*" }, 400, /wildcard/],
      [{ topic: "/api/v1/tenants/acme/mercure/subscriptions/x" }, 400, /hub's own namespace/],
      [{ topic: "urn:a", id: "#fragment" }, 400, /must not start with #/],
      [{ topic: "urn:a", id: "earliest" }, 400, /reserved/],
      [{ topic: "urn:a", type: "mercure" }, 400, /reserved/],
      [{ topic: "urn:a", type: "bad\ntype" }, 400, /not allowed/],
      [{ topic: "urn:a", retry: "-1" }, 400, /retry/],
      [{ topic: Array.from({ length: 33 }, (_, i) => `urn:t${i}`) }, 413, /at most 32/],
    ];
    const head = async () => (await (await api(server, "/api/v1/tenants/acme/events?limit=1", { key: reader })).json()).head;
    const before = await head();
    for (const [form, status, message] of cases) {
      const res = await post(form);
      expect(res.status, JSON.stringify(form)).toBe(status);
      expect((await res.json()).message).toMatch(message);
    }
    expect(await head()).toBe(before);
    const json = await api(server, hub(), { method: "POST", key: publisher, headers: { "content-type": "application/json" }, body: "{}" });
    expect(json.status).toBe(415);
  });

  it("refuses a subscription without selectors, with an unknown matcher, or mixing the drafts", async () => {
    for (const [query, message] of [["", /at least one topic selector/], ["match_regex=.*", /not a matcher/], ["topic=a&match=b", /not both/]] as const) {
      const res = await api(server, `${hub()}?${query}`, { key: reader });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toMatch(message);
    }
  });

  it("names the tenant's hub in a Link header on its state and history (discovery)", async () => {
    for (const path of ["/api/v1/tenants/acme/calls", "/api/v1/tenants/acme/events?limit=1"]) {
      const res = await api(server, path, { key: reader });
      expect(res.status).toBe(200);
      expect(res.headers.get("link")).toBe(`<${server.url}/api/v1/tenants/acme/mercure>; rel="mercure"`);
    }
  });

  it("asks for credentials: 401 with a Bearer challenge without them, 403 for a key without the scope or tenant", async () => {
    const anonymous = await fetch(`${server.url}${hub()}?topic=*`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await post({ topic: "urn:a" }, reader)).status).toBe(403);
    const other = (await tenantKey(server, "other", ["publish"])).secret;
    expect((await post({ topic: "urn:a" }, other)).status).toBe(403);
    expect((await post({ topic: "urn:a" }, ADMIN_KEY)).status).toBe(200);
  });
});
