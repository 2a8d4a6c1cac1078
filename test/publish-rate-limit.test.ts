import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { walkHistory } from "./support/history-pages.js";
import { Probe } from "./support/probe.js";
import { api, startTestServer, type TestServer } from "./support/server.js";
import { tenantKey } from "./support/tenants.js";

/**
 * Per-key publishing limits on a real server: a token bucket per API key,
 * counted in events, shared by the events route, the command routes and the
 * console's forms; past it, 429 with Retry-After and a message naming the
 * limit, while every other key (and tenant) stays served.
 */

// One event per 100 s: nothing refills while a test runs, however slow the machine.
const RATE = 0.01;
const BURST = 10;

describe("publishing rate limit per key", () => {
  let server: TestServer;
  let probe: Probe;

  beforeAll(async () => {
    server = await startTestServer({ PUBLISH_RATE_PER_KEY: String(RATE), PUBLISH_BURST_PER_KEY: String(BURST) });
    probe = await Probe.open(server);
  });
  afterAll(async () => {
    probe?.close();
    await server?.dispose();
  });

  const post = async (tenant: string, key: string, body: string, contentType = "application/json") => {
    const res = await api(server, `/api/v1/tenants/${tenant}/events`, { method: "POST", key, headers: { "content-type": contentType }, body });
    return { status: res.status, headers: res.headers, body: await res.json() };
  };
  const batch = (type: string, n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ type, data: { i } })));

  /** The 429 the limit answers: its code, a message naming the limit, and Retry-After in whole seconds. */
  const expectLimited = (reply: { status: number; headers: Headers; body: any }) => {
    expect({ status: reply.status, error: reply.body.error }).toEqual({ status: 429, error: "rate_limited" });
    expect(reply.body.message).toMatch(/publish 0\.01 events per second, in bursts of up to 10 \(PUBLISH_RATE_PER_KEY, PUBLISH_BURST_PER_KEY\)/);
    const retryAfter = reply.headers.get("retry-after");
    expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
    return Number(retryAfter);
  };

  it("counts a batch of n as n events and answers 429 with Retry-After past the allowance, appending nothing", async () => {
    const { secret } = await tenantKey(server, "counted", ["read", "publish"]);
    expect((await post("counted", secret, batch("rate.ok", 8))).status).toBe(201);
    // Two events left: three are refused (and spend nothing), two pass.
    const refused = await post("counted", secret, batch("rate.refused", 3));
    // One event short at 0.01 per second: about 100 s.
    expect(expectLimited(refused)).toBeGreaterThan(50);
    // A smaller one passes when it fits: it comes back before the Retry-After, but is not refused, so not held.
    expect((await post("counted", secret, batch("rate.ok", 2))).status).toBe(201);
    // The key is exhausted: a body is refused before it is read (this one is not JSON).
    expectLimited(await post("counted", secret, "x".repeat(batch("rate.refused", 3).length)));
    expectLimited(await post("counted", secret, batch("rate.refused", 1)));
    // NDJSON counts the same; and an exhausted key is refused before its body is even read (this one is not JSON).
    expectLimited(await post("counted", secret, '{"type":"rate.refused"}\n', "application/x-ndjson"));
    expectLimited(await post("counted", secret, "{not json"));
    const types = (await walkHistory(server, "counted", {}, secret)).map((e) => e.type);
    expect(types).toEqual(Array(10).fill("rate.ok"));
  });

  it("lets a batch larger than the allowance through on a full bucket, then makes the key wait it off", async () => {
    const { secret } = await tenantKey(server, "bulk", ["read", "publish"]);
    const big = await post("bulk", secret, batch("rate.bulk", 25));
    expect(big.status).toBe(201);
    expect(big.body.ids).toHaveLength(25);
    // 15 events of debt plus the one asked for, at 0.01 per second.
    expect(expectLimited(await post("bulk", secret, batch("rate.more", 1)))).toBeGreaterThan(1000);
  });

  it("shares one allowance between the events route, the command routes and the console's forms of a key", async () => {
    const { secret } = await tenantKey(server, "controls", ["read", "publish", "control"]);
    const connect = (name: string) =>
      api(server, "/api/v1/tenants/controls/channels", {
        method: "POST",
        key: secret,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ platform: "slack", name }),
      });
    // A command costs one event.
    expect((await connect("First")).status).toBe(201);
    expect((await post("controls", secret, batch("rate.fill", BURST - 1))).status).toBe(201);

    const command = await connect("Second");
    expectLimited({ status: command.status, headers: command.headers, body: await command.json() });

    // The console: signed in with the same key, a control form is refused the same way, as a page.
    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
      body: new URLSearchParams({ key: secret }),
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const page = await (await fetch(`${server.url}/t/controls`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1];
    const form = await fetch(`${server.url}/t/controls/channels`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url, cookie },
      body: new URLSearchParams({ _csrf: csrf, platform: "slack", name: "From the console" }),
    });
    expect(form.status).toBe(429);
    expect(form.headers.get("retry-after")).toMatch(/^[1-9][0-9]*$/);
    expect(form.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await form.text()).toContain("PUBLISH_RATE_PER_KEY");

    const channels = await (await api(server, "/api/v1/tenants/controls/channels", { key: secret })).json();
    expect(channels.channels.map((c: { name: string }) => c.name)).toEqual(["First"]);
  });

  it("refuses one key's flood while another tenant's key publishes, receives and gets /healthz as usual", async () => {
    const { secret } = await tenantKey(server, "flood", ["publish"]);
    const flood = () => post("flood", secret, batch("flood.item", 5));
    expect((await flood()).status).toBe(201);
    expect((await flood()).status).toBe(201);
    // From here on the flood gets nothing but 429s, however hard it pushes, and the probe is served throughout.
    const [replies, roundTrip, health] = await Promise.all([Promise.all(Array.from({ length: 40 }, flood)), probe.roundTrip(), probe.health()]);
    for (const reply of replies) expectLimited(reply);
    expect(roundTrip).toBeGreaterThan(0);
    expect(health).toBe(200);
    // The probe's own publishes were never limited by the flood's key (it published several times by now).
    expect(await probe.roundTrip()).toBeGreaterThan(0);
  });
});

describe("a key that comes back before its Retry-After", () => {
  let server: TestServer;

  beforeAll(async () => {
    // One event a second: a refusal says "retry in 1 s".
    server = await startTestServer({ PUBLISH_RATE_PER_KEY: "1", PUBLISH_BURST_PER_KEY: "1" });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const post = (key: string, type: string) =>
    api(server, "/api/v1/tenants/eager/events", { method: "POST", key, headers: { "content-type": "application/json" }, body: JSON.stringify({ type }) });

  it("gets its answer when its Retry-After has passed, not at once, and is served then if it fits", async () => {
    const { secret } = await tenantKey(server, "eager", ["read", "publish"]);
    expect((await post(secret, "eager.first")).status).toBe(201);
    const refused = await post(secret, "eager.second");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");

    // Retried at once, as a flood would: held until the second has passed, and by then a token has refilled.
    const sent = Date.now();
    const early = await post(secret, "eager.third");
    expect(early.status).toBe(201);
    // A lower bound only: a slow machine answers later, never sooner. Without the hold this took milliseconds.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);

    // Nothing refused was appended; what was held and then fitted was.
    const events = (await (await api(server, "/api/v1/tenants/eager/events", { key: secret })).json()).events;
    expect(events.map((e: { type: string }) => e.type)).toEqual(["eager.first", "eager.third"]);
  });
});
