import { SignJWT, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hmacKey } from "../src/mercure/keys.js";
import { MERCURE_DETAIL_TYPE } from "../src/mercure/tokens.js";
import { MercureSettingsStore, type MercureSettingsChange } from "../src/store/mercure-settings.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { createTenant, onAccess } from "./support/tenants.js";

/**
 * Mercure's authorization end to end, on a real server: tokens minted as
 * publishers mint them (0.x `mercure` claim, 1.0 access tokens), presented
 * in the header, the cookie or the 0.x query parameter; publish grants
 * checked on every topic; private updates delivered only to subscribers
 * whose token allows one of their topics, live and on replay; anonymous
 * subscribers only where allowed, capped per address; streams closed when
 * their token expires.
 */
const SECRET = "the-acme-hub-secret-at-least-32-bytes!";
const bytes = new TextEncoder().encode(SECRET);
const BOOKS = "https://example.com/books/{id}";
/** Settings reach a cluster's nodes a moment after they are written; a loaded machine may take a while. */
const WAIT = { timeout: 30_000, interval: 100 };

const sign = (claims: JWTPayload, header: { alg: string; typ?: string } = { alg: "HS256" }) => new SignJWT(claims).setProtectedHeader(header).sign(bytes);
const publisherToken = (publish: string[]) => sign({ mercure: { publish } });
const subscriberToken = (subscribe: string[], more: JWTPayload = {}) => sign({ mercure: { subscribe }, ...more });

describe("Mercure authorization", () => {
  let server: TestServer;
  const hub = `/api/v1/tenants/acme/mercure`;
  const clients: SseClient[] = [];

  async function settings(change: MercureSettingsChange): Promise<void> {
    await onAccess(server, (db) => new MercureSettingsStore(db).set("acme", change));
  }
  function publish(form: Record<string, string | string[]>, token: string): Promise<Response> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(form)) for (const v of [value].flat()) body.append(name, v);
    return fetch(`${server.url}${hub}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-www-form-urlencoded" }, body });
  }
  async function subscribe(query: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = await SseClient.open(`${server.url}${hub}?${query}`, headers);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    server = await startTestServer({ MERCURE_ANONYMOUS_STREAMS_PER_ADDRESS: "2" });
    await createTenant(server, "acme");
    await settings({ publisherKey: hmacKey(SECRET), subscriberKey: hmacKey(SECRET), anonymous: true });
    // On a cluster the nodes learn of settings a moment later: until a token is accepted.
    const token = await publisherToken(["*"]);
    await vi.waitFor(async () => expect((await publish({ topic: "urn:warm-up" }, token)).status).toBe(200), WAIT);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.dispose();
  });

  it("publishes only to topics the token's selectors match: 403 insufficient_scope for any other, publishing nothing", async () => {
    const token = await publisherToken([BOOKS]);
    const ok = await publish({ topic: "https://example.com/books/1", data: "one" }, token);
    expect(ok.status).toBe(200);
    const refused = await publish({ topic: ["https://example.com/books/1", "https://example.com/authors/7"], data: "two" }, token);
    expect(refused.status).toBe(403);
    expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="mercure", error="insufficient_scope"');
    expect((await refused.json()).message).toContain("https://example.com/authors/7");
    const noGrant = await publish({ topic: "https://example.com/books/1" }, await sign({ sub: "nobody" }));
    expect(noGrant.status).toBe(403);
  });

  it("refuses a bad token with 401 invalid_token, and asks a publisher without one for credentials", async () => {
    const wrongKey = await new SignJWT({ mercure: { publish: ["*"] } }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("another-secret-of-at-least-32-bytes!!"));
    const expired = await sign({ mercure: { publish: ["*"] }, exp: Math.floor(Date.now() / 1000) - 60 });
    for (const token of [wrongKey, expired]) {
      const res = await publish({ topic: "urn:x" }, token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="mercure", error="invalid_token"');
    }
    const anonymous = await fetch(`${server.url}${hub}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "topic=urn:x" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="mercure"');
  });

  it("delivers a private update only to subscribers allowed one of its topics, live and on replay", async () => {
    const mine = await subscribe(`topic=${encodeURIComponent(BOOKS)}`, { authorization: `Bearer ${await subscriberToken(["https://example.com/books/10"])}` });
    // The alternate topic is what this reader's token allows.
    const viaAlternate = await subscribe(`topic=${encodeURIComponent(BOOKS)}`, { cookie: `mercureAuthorization=${await subscriberToken(["https://example.com/users/9/{?topic}"])}` });
    const other = await subscribe(`topic=${encodeURIComponent(BOOKS)}&authorization=${await subscriberToken(["https://example.com/books/11"])}`);
    const anonymous = await subscribe(`topic=${encodeURIComponent(BOOKS)}`);
    for (const s of [mine, viaAlternate, other, anonymous]) expect(s.status).toBe(200);

    const token = await publisherToken(["*"]);
    const alternate = "https://example.com/users/9/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F10";
    expect((await publish({ topic: ["https://example.com/books/10", alternate], data: "secret", private: "on", id: "p-10" }, token)).status).toBe(200);
    expect((await publish({ topic: "https://example.com/books/12", data: "public", id: "pub-12" }, token)).status).toBe(200);

    for (const s of [mine, viaAlternate]) await s.until((c) => c.messages.length >= 2);
    for (const s of [other, anonymous]) await s.until((c) => c.messages.length >= 1);
    expect(mine.messages.map((m) => m.id)).toEqual(["p-10", "pub-12"]);
    expect(viaAlternate.messages.map((m) => m.id)).toEqual(["p-10", "pub-12"]);
    // By the time the public update arrived, the private one (published first) had been passed over.
    expect(other.messages.map((m) => m.id)).toEqual(["pub-12"]);
    expect(anonymous.messages.map((m) => m.id)).toEqual(["pub-12"]);

    // Replay applies the same rule.
    const replayOther = await subscribe(`topic=${encodeURIComponent(BOOKS)}&lastEventID=earliest`, { authorization: `Bearer ${await subscriberToken(["https://example.com/books/11"])}` });
    const replayMine = await subscribe(`topic=${encodeURIComponent(BOOKS)}&lastEventID=earliest`, { authorization: `Bearer ${await subscriberToken(["https://example.com/books/10"])}` });
    await replayMine.until((c) => c.messages.some((m) => m.id === "pub-12"));
    await replayOther.until((c) => c.messages.some((m) => m.id === "pub-12"));
    expect(replayMine.messages.map((m) => m.id)).toContain("p-10");
    expect(replayOther.messages.map((m) => m.id)).not.toContain("p-10");
  });

  it("takes 1.0 access tokens with authorization_details and URL patterns", async () => {
    const hubUrl = `${server.url}${hub}`;
    const now = Math.floor(Date.now() / 1000);
    const claims = (actions: string[], match: string) => ({
      iss: "https://example.com",
      aud: hubUrl,
      sub: "urn:uuid:1e0cba4c-4bcd-44f0-ae8a-7b76f7ef1280",
      client_id: "https://example.com",
      iat: now,
      exp: now + 600,
      jti: `urn:uuid:${crypto.randomUUID()}`,
      authorization_details: [{ type: MERCURE_DETAIL_TYPE, actions, topics: [{ match, match_type: "urlpattern" }] }],
    });
    const reader = await sign(claims(["subscribe"], "https://example.com/shelves/:id"), { alg: "HS256", typ: "at+jwt" });
    const writer = await sign(claims(["publish"], "https://example.com/shelves/*"), { alg: "HS256", typ: "at+jwt" });
    const stream = await subscribe(`match_urlpattern=${encodeURIComponent("https://example.com/shelves/:id")}`, { authorization: `Bearer ${reader}` });
    expect(stream.status).toBe(200);
    expect((await publish({ topic: "https://example.com/shelves/3", data: "private shelf", private: "", id: "shelf-3" }, writer)).status).toBe(200);
    expect((await publish({ topic: "https://example.com/books/3", data: "not a shelf" }, writer)).status).toBe(403);
    await stream.until((c) => c.messages.length >= 1);
    expect(stream.messages).toEqual([{ id: "shelf-3", data: "private shelf" }]);
    // A 1.0 token may not travel in the URL.
    const inUrl = await fetch(`${hubUrl}?match=urn:x&authorization=${reader}`);
    expect(inUrl.status).toBe(400);
  });

  it("closes a stream when its token expires", async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const stream = await subscribe("topic=urn:expiring", { authorization: `Bearer ${await subscriberToken(["urn:expiring"], { exp })}` });
    expect(stream.status).toBe(200);
    await stream.until((c) => c.closed, 20_000);
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
  });

  it("caps anonymous streams per address, and takes none where the tenant does not allow them", async () => {
    for (const c of clients.splice(0)) c.close();
    // The earlier tests' anonymous streams give their places back once the server sees them go.
    let first: SseClient | undefined;
    await vi.waitFor(async () => {
      first?.close();
      first = await subscribe("topic=urn:anon");
      expect(first.status).toBe(200);
    }, WAIT);
    const second = await subscribe("topic=urn:anon");
    expect(second.status).toBe(200);
    const third = await fetch(`${server.url}${hub}?topic=urn:anon`);
    expect(third.status).toBe(429);
    expect((await third.json()).message).toContain("MERCURE_ANONYMOUS_STREAMS_PER_ADDRESS");
    first!.close();
    // The place is given back once the stream has gone.
    await vi.waitFor(async () => {
      const again = await SseClient.open(`${server.url}${hub}?topic=urn:anon`);
      clients.push(again);
      expect(again.status).toBe(200);
    }, WAIT);
    second.close();

    await settings({ anonymous: false });
    await vi.waitFor(async () => {
      const res = await fetch(`${server.url}${hub}?topic=urn:anon`);
      await res.body?.cancel();
      expect(res.status).toBe(401);
    }, WAIT);
    await settings({ anonymous: true });
  });

  it("answers a CORS preflight for an allowed origin only, by name and with credentials", async () => {
    await settings({ corsOrigins: ["https://app.example.com"] });
    await vi.waitFor(async () => {
      const allowed = await fetch(`${server.url}${hub}`, { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "GET" } });
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
      expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    }, WAIT);
    const other = await fetch(`${server.url}${hub}`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "GET" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    // The stream itself answers the allowed origin too, and only it.
    const cookie = `mercureAuthorization=${await subscriberToken(["urn:cors"])}`;
    const stream = await subscribe("topic=urn:cors", { origin: "https://app.example.com", cookie });
    expect(stream.status).toBe(200);
    expect(stream.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    expect(stream.headers["access-control-allow-credentials"]).toBe("true");
    const elsewhere = await subscribe("topic=urn:cors", { origin: "https://evil.example", cookie });
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("publishes subscription events, where the tenant turns them on, to subscribers allowed their topics", async () => {
    await settings({ subscriptions: true });
    const path = `${hub}/subscriptions`;
    const watcher = await subscribe(`topic=${encodeURIComponent(`${path}/{topic}/{subscriber}`)}`, { authorization: `Bearer ${await subscriberToken([`${path}/{topic}/{subscriber}`])}` });
    const anonymousWatcher = await subscribe(`topic=${encodeURIComponent(`${path}/{topic}/{subscriber}`)}`);
    const about = (topic: string) => watcher.messages.map((m) => JSON.parse(m.data)).filter((doc) => doc.topic === topic);
    // The watcher's own subscription is announced too, once the setting has reached the server.
    await vi.waitFor(async () => {
      const probe = await SseClient.open(`${server.url}${hub}?topic=urn:probe`, { authorization: `Bearer ${await subscriberToken([])}` });
      probe.close();
      await watcher.until((c) => c.messages.some((m) => JSON.parse(m.data).topic === "urn:probe"), 2_000);
    }, WAIT);
    const watched = await subscribe("topic=urn:watched", { authorization: `Bearer ${await subscriberToken([], { mercure: { subscribe: [], payload: { user: "ada" } } })}` });
    await watcher.until(() => about("urn:watched").length >= 1);
    const started = about("urn:watched")[0];
    expect(started).toMatchObject({ "@context": "https://mercure.rocks/", type: "Subscription", topic: "urn:watched", active: true, payload: { user: "ada" } });
    expect(started.subscriber).toMatch(/^urn:uuid:/);
    expect(started.id).toBe(`${path}/urn%3Awatched/${encodeURIComponent(started.subscriber)}`);

    // The subscriptions API lists it, to a token that may subscribe to the API's paths.
    const apiToken = await subscriberToken([`${path}{/topic,subscriber}`, path]);
    const get = (p: string, token = apiToken) => fetch(`${server.url}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    await vi.waitFor(async () => {
      const all = await get(path);
      expect(all.status).toBe(200);
      expect(all.headers.get("content-type")).toBe("application/ld+json");
      const body = await all.json();
      expect(body).toMatchObject({ "@context": "https://mercure.rocks/", id: path, type: "Subscriptions" });
      expect(body.lastEventID).toMatch(/^urn:uuid:/);
      expect(body.subscriptions).toContainEqual(started);
    }, WAIT);
    const collection = await (await get(`${path}/urn%3Awatched`)).json();
    expect(collection.subscriptions).toEqual([started]);
    const one = await get(started.id);
    expect(await one.json()).toMatchObject({ ...started, lastEventID: expect.any(String) });
    expect((await get(`${path}/urn%3Anobody/urn%3Auuid%3Ax`)).status).toBe(404);
    expect((await get(path, "")).status).toBe(401);
    expect((await get(path, await subscriberToken(["urn:watched"]))).status).toBe(403);

    watched.close();
    await watcher.until(() => about("urn:watched").length >= 2);
    expect(about("urn:watched")[1]).toEqual({ ...started, active: false });
    await vi.waitFor(async () => expect((await (await get(`${path}/urn%3Awatched`)).json()).subscriptions).toEqual([]), WAIT);
    expect(await (await get(started.id)).json()).toMatchObject({ active: false });
    // Subscription events are private.
    expect(anonymousWatcher.messages).toEqual([]);
  });

  it("describes 1.0 subscriptions in 1.0's shape, in events and in the API", async () => {
    const path = `${hub}/subscriptions`;
    const watcher = await subscribe(`topic=${encodeURIComponent(`${path}/{+rest}`)}`, { authorization: `Bearer ${await subscriberToken([`${path}/{+rest}`])}` });
    const pattern = "https://example.com/shelves/:id";
    const watched = await subscribe(`match_urlpattern=${encodeURIComponent(pattern)}`, { authorization: `Bearer ${await subscriberToken([])}` });
    expect(watched.status).toBe(200);
    await watcher.until((c) => c.messages.some((m) => JSON.parse(m.data).match === pattern));
    const frame = watcher.messages.find((m) => JSON.parse(m.data).match === pattern)!;
    expect(frame.event).toBe("mercure");
    const doc = JSON.parse(frame.data);
    expect(doc).toMatchObject({ type: "subscription", match_type: "urlpattern", match: pattern, active: true });
    expect(doc.id).toBe(`${path}/urlpattern/${encodeURIComponent(pattern)}/${encodeURIComponent(doc.subscriber)}`);
    const api = await fetch(`${server.url}${path}/urlpattern/${encodeURIComponent(pattern)}`, { headers: { authorization: `Bearer ${await subscriberToken(["*"])}` } });
    expect(api.headers.get("content-type")).toBe("application/json");
    expect(api.headers.get("link")).toMatch(/rel="mercure"; last-event-id="[^"]+"; type="mercure"; content-type="application\/json"$/);
    expect(await api.json()).toEqual({ id: `${path}/urlpattern/${encodeURIComponent(pattern)}`, type: "subscriptions", subscriptions: [doc] });
    watched.close();
    await settings({ subscriptions: false });
    await vi.waitFor(async () => {
      const off = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${await subscriberToken(["*"])}` } });
      expect(off.status).toBe(404);
    }, WAIT);
  });
});

/**
 * /.well-known/mercure serves the tenant SWITCHBOARD_MERCURE_TENANT names,
 * with SWITCHBOARD_MERCURE_JWT_KEY as its publisher and subscriber key and
 * SWITCHBOARD_MERCURE_ANONYMOUS deciding anonymous subscribers, as the
 * reference hub is configured: an existing Mercure deployment points its
 * clients at Switchboard unchanged.
 */
describe("/.well-known/mercure", () => {
  let server: TestServer;
  const key = "the-well-known-hub-key-at-least-32-bytes";
  const signed = (claims: JWTPayload) => new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(key));

  beforeAll(async () => {
    server = await startTestServer({ SWITCHBOARD_MERCURE_TENANT: "demo", SWITCHBOARD_MERCURE_JWT_KEY: key, SWITCHBOARD_MERCURE_ANONYMOUS: "true" });
  });
  afterAll(() => server?.dispose());

  it("publishes and subscribes as the reference hub does, into the tenant's log", async () => {
    const anonymous = await SseClient.open(`${server.url}/.well-known/mercure?topic=${encodeURIComponent("https://example.com/books/{id}")}`);
    expect(anonymous.status).toBe(200);
    const res = await fetch(`${server.url}/.well-known/mercure`, {
      method: "POST",
      headers: { authorization: `Bearer ${await signed({ mercure: { publish: ["*"] } })}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ topic: "https://example.com/books/1", data: '{"title":"Dune"}', id: "dune-1" }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("dune-1");
    await anonymous.until((c) => c.messages.length >= 1);
    expect(anonymous.messages).toEqual([{ id: "dune-1", data: '{"title":"Dune"}' }]);
    anonymous.close();
    // The update is an event of the tenant the mount serves.
    const history = await fetch(`${server.url}/api/v1/tenants/demo/events?types=mercure.update`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect((await history.json()).events.map((e: { subject: string }) => e.subject)).toEqual(["dune-1"]);
    // The reserved namespace is the mount's own path here.
    const forged = await fetch(`${server.url}/.well-known/mercure`, {
      method: "POST",
      headers: { authorization: `Bearer ${await signed({ mercure: { publish: ["*"] } })}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ topic: "/.well-known/mercure/subscriptions/x/y" }),
    });
    expect(forged.status).toBe(400);
  });
});
