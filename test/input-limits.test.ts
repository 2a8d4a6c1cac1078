import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSettings } from "../src/domain/channels/console-routes.js";
import { walkHistory } from "./support/history-pages.js";
import { onNextRequest } from "./support/next-request.js";
import { Probe } from "./support/probe.js";
import { sessionCookie } from "./support/console.js";
import { api, startTestServer, type TestServer } from "./support/server.js";

/**
 * Hostile and heavy bodies on a real server, with a second tenant's probe
 * beside them: JSON nesting past MAX_JSON_DEPTH is refused with a 400 naming
 * the limit (never a 500, never a stalled loop), and a 50k-event batch is
 * parsed and checked in slices, so the probe is served while it is.
 */

const DEPTH = 64;

/** Resolves once the server has read the whole body of the next request to `path` (the server runs in this process). */
function bodyReceived(path: string): Promise<void> {
  return new Promise((resolve) => onNextRequest(path, (request) => request.once("end", () => resolve())));
}

/** `data` nesting `levels` deep: the data object is level 1, each array inside it one more. */
const nested = (levels: number) => JSON.parse(`{"a":${"[".repeat(levels - 1)}${"]".repeat(levels - 1)}}`);

describe("input limits", () => {
  let server: TestServer;
  let probe: Probe;

  beforeAll(async () => {
    // Rate limits are another test's subject: here one key sends batches back to back.
    // Batches as large as an operator may allow: what takes longest to parse and check.
    server = await startTestServer({ PUBLISH_RATE_PER_KEY: "0", MAX_BATCH_EVENTS: "50000", MAX_BATCH_BYTES: String(16 * 1024 * 1024) });
    probe = await Probe.open(server);
  });
  afterAll(async () => {
    probe?.close();
    await server?.dispose();
  });

  const post = async (path: string, body: string, contentType = "application/json") => {
    const res = await api(server, path, { method: "POST", headers: { "content-type": contentType }, body });
    return { status: res.status, body: await res.json() };
  };
  const events = "/api/v1/tenants/demo/events";

  it("accepts data nesting exactly MAX_JSON_DEPTH levels and refuses one level more, naming the limit", async () => {
    const edge = await post(events, JSON.stringify({ type: "edge.deep", data: nested(DEPTH) }));
    expect(edge.status).toBe(201);
    const stored = await walkHistory(server, "demo", { types: "edge.deep" });
    expect(stored.map((e) => e.data)).toEqual([nested(DEPTH)]);

    const over = await post(events, JSON.stringify({ type: "edge.over", data: nested(DEPTH + 1) }));
    expect(over).toEqual({
      status: 400,
      body: {
        error: "invalid_event",
        message: "1 of 1 events is invalid; nothing was appended",
        details: [{ index: 0, reason: "data nests deeper than 64 levels, the limit (MAX_JSON_DEPTH)" }],
      },
    });
  });

  it("names every too-deep event of a batch, JSON or NDJSON, and appends none", async () => {
    const batch = [{ type: "deep.ok" }, { type: "deep.no", data: nested(100) }, { type: "deep.ok" }, { type: "deep.no", data: nested(DEPTH + 1) }];
    const reasons = [
      { index: 1, reason: expect.stringMatching(/deeper than 64 levels/) },
      { index: 3, reason: expect.stringMatching(/deeper than 64 levels/) },
    ];
    const json = await post(events, JSON.stringify(batch));
    expect(json.status).toBe(400);
    expect(json.body.details).toEqual(reasons);
    const ndjson = await post(events, batch.map((e) => JSON.stringify(e)).join("\n"), "application/x-ndjson");
    expect(ndjson.status).toBe(400);
    expect(ndjson.body.details).toEqual(reasons);
    expect(await walkHistory(server, "demo", { types: "deep.*" })).toEqual([]);
  });

  it("refuses data nested 1,000,000 deep with a 400 while another tenant stays served", async () => {
    const depth = 1_000_000;
    const body = `{"type":"deep.hostile","data":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
    const received = bodyReceived(events);
    const hostile = post(events, body);
    await received;
    // The server holds the whole body now; before, it parsed it for seconds, then overflowed JSON.stringify's stack.
    const [reply, roundTrip, health] = await Promise.all([hostile, probe.roundTrip(), probe.health()]);
    expect(reply.status).toBe(400);
    expect(reply.body.details).toEqual([{ index: 0, reason: "data nests deeper than 64 levels, the limit (MAX_JSON_DEPTH)" }]);
    expect(roundTrip).toBeGreaterThan(0);
    expect(health).toBe(200);

    // The same as NDJSON (100,000 deep: a million would be refused first as longer than any event can be),
    // and as a command body, whose objects become event data.
    const deepLine = `{"type":"deep.hostile","data":{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`;
    const line = await post(events, `${deepLine}\n{"type":"deep.fine"}\n`, "application/x-ndjson");
    expect(line.status).toBe(400);
    expect(line.body.details).toEqual([{ index: 0, reason: expect.stringMatching(/deeper than 64 levels/) }]);
    const settings = `{"a":${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
    const command = await post("/api/v1/tenants/demo/channels", `{"platform":"slack","name":"Deep","settings":${settings}}`);
    expect(command).toEqual({ status: 400, body: { error: "too_deep", message: "the body nests deeper than 64 levels, the limit (MAX_JSON_DEPTH)" } });
    // The console's connect form takes settings as JSON text too.
    expect(parseSettings(settings, DEPTH)).toEqual({ ok: false, reason: "Settings nest deeper than 64 levels, the limit (MAX_JSON_DEPTH)" });
    expect(await walkHistory(server, "demo", { types: "deep.*" })).toEqual([]);
  });

  it("refuses an event far longer than any valid one without parsing it (413, naming the limit)", async () => {
    const reply = await post(events, JSON.stringify([{ type: "long.ok" }, { type: "long.no", data: { s: "x".repeat(1_000_000) } }]));
    expect(reply.status).toBe(413);
    expect(reply.body.error).toBe("event_too_large");
    expect(reply.body.details).toEqual([{ index: 1, reason: expect.stringMatching(/^the event is 1000\d+ characters of JSON, more than the limit of \d+/) }]);
  });

  it.each(["application/json", "application/x-ndjson"])("serves another tenant while a 50,000-event %s batch is parsed and checked", async (contentType) => {
    const batch = Array.from({ length: 50_000 }, (_, i) => ({ type: "bulk.item", subject: `s-${i % 100}`, data: { i, note: "a line of status" } }));
    const body = contentType === "application/json" ? JSON.stringify(batch) : batch.map((e) => JSON.stringify(e)).join("\n");
    const finished: string[] = [];
    const received = bodyReceived(events);
    const hostile = post(events, body, contentType).then((reply) => (finished.push("batch"), reply));
    await received;
    // Everything left before the batch's append is parsing and checking it: the probe must get through meanwhile.
    const served = Promise.all([probe.roundTrip(), probe.health()]).then((answers) => (finished.push("probe"), answers));
    const [reply, [roundTrip, health]] = await Promise.all([hostile, served]);
    expect(reply.status).toBe(201);
    expect(reply.body.ids).toHaveLength(50_000);
    expect(roundTrip).toBeGreaterThan(0);
    expect(health).toBe(200);
    // Before, parsing and checking the batch held the loop until it was appended: the probe always came second.
    expect(finished).toEqual(["probe", "batch"]);
  });
  it("refuses a console form body past its limit as it arrives (413), and still takes a normal one", async () => {
    const cookie = await sessionCookie(server);
    const page = await (await fetch(`${server.url}/t/demo`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
    expect(csrf).toBeTruthy();
    const post = (title: string) =>
      fetch(`${server.url}/t/demo/sessions`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie, origin: server.url, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrf!, agent: "agent-1", title }),
      });
    const huge = await post("x".repeat(8 * 1024 * 1024));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: "body_too_large" });
    const normal = await post("hello");
    expect(normal.status).toBeLessThan(400);
    expect(await probe.health()).toBe(200);
  });
});
