import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { walkHistory, type EventJson } from "./support/history-pages.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { createTenant, revokeKey, tenantKey } from "./support/tenants.js";

/**
 * Every kind of bad request gets its documented status, a stable error
 * code and a message saying what is wrong, and appends nothing: the log,
 * its head and the live streams are exactly as they were.
 */

const MAX_EVENT_BYTES = 300;
const MAX_BODY_BYTES = 4096;
const MAX_BATCH_EVENTS = 10;
const MAX_BATCH_BYTES = 1024;

interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

describe("bad input", () => {
  let server: TestServer;
  /** Secrets of the keys the tests use, created in beforeAll. */
  const keys = { demo: "", readOnly: "", publishOnly: "", acme: "", revoked: "" };
  let adminStream: SseClient;
  /** Ids of every append that succeeded after the admin stream opened. */
  const accepted: number[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      MAX_EVENT_BYTES: String(MAX_EVENT_BYTES),
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      MAX_BATCH_EVENTS: String(MAX_BATCH_EVENTS),
      MAX_BATCH_BYTES: String(MAX_BATCH_BYTES),
    });
    // Tenants and keys are made the way the CLI makes them: the stores on the server's database.
    await createTenant(server, "acme");
    keys.demo = (await tenantKey(server, "demo", ["read", "publish"])).secret;
    keys.readOnly = (await tenantKey(server, "demo", ["read"])).secret;
    keys.publishOnly = (await tenantKey(server, "demo", ["publish"])).secret;
    keys.acme = (await tenantKey(server, "acme", ["read", "publish"])).secret;
    const revoked = await tenantKey(server, "demo", ["read", "publish"]);
    keys.revoked = revoked.secret;
    await revokeKey(server, revoked.id, { tenant: "demo", secret: revoked.secret });

    // Some history in both tenants, so "unchanged" means something.
    expect((await publish(server, "demo", [{ type: "seed.one", subject: "s", data: { n: 1 } }, { type: "seed.two" }])).status).toBe(201);
    expect((await publish(server, "acme", { type: "seed.acme", data: { secret: "acme-only" } })).status).toBe(201);

    adminStream = await SseClient.open(`${server.url}/api/v1/stream`, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(adminStream.status).toBe(200);
  });

  afterAll(async () => {
    adminStream?.close();
    await server?.dispose();
  });

  async function call(path: string, init: { method?: string; key?: string | null; headers?: Record<string, string>; body?: BodyInit; duplex?: "half" } = {}): Promise<Reply> {
    const headers = new Headers(init.headers);
    const key = init.key === undefined ? ADMIN_KEY : init.key;
    if (key !== null) headers.set("authorization", `Bearer ${key}`);
    const res = await fetch(server.url + path, { method: init.method ?? "GET", headers, body: init.body, duplex: init.duplex } as RequestInit);
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, body, text };
  }

  const post = (tenant: string, body: BodyInit, contentType: string | null = "application/json", key?: string | null, extra: Record<string, string> = {}) =>
    call(`/api/v1/tenants/${tenant}/events`, {
      method: "POST",
      key,
      body,
      headers: { ...(contentType === null ? {} : { "content-type": contentType }), ...extra },
    });
  const postJson = (body: unknown, key?: string) => post("demo", JSON.stringify(body), "application/json", key);

  async function snapshot(): Promise<{ demo: EventJson[]; acme: EventJson[]; head: number }> {
    const demo = await walkHistory(server, "demo");
    const acme = await walkHistory(server, "acme");
    const res = await call("/api/v1/tenants/demo/events?limit=1");
    return { demo, acme, head: res.body.head };
  }

  /**
   * Runs a request that must fail, and checks the reply is the documented
   * error (JSON body with code and message) and that nothing was appended.
   */
  async function rejected(send: () => Promise<Reply>, status: number, code: string, message: RegExp): Promise<Reply> {
    const before = await snapshot();
    const reply = await send();
    expect({ status: reply.status, error: reply.body?.error }, reply.text).toEqual({ status, error: code });
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    expect(typeof reply.body.message).toBe("string");
    expect(reply.body.message).toMatch(message);
    // The error body holds the error and nothing else: never events.
    for (const field of Object.keys(reply.body)) expect(["error", "message", "details"]).toContain(field);
    expect(await snapshot()).toEqual(before);
    return reply;
  }

  describe("bodies", () => {
    it("rejects malformed JSON with 400 invalid_json", async () => {
      await rejected(() => post("demo", '{"type":"order.started",'), 400, "invalid_json", /not valid JSON/);
      await rejected(() => post("demo", ""), 400, "invalid_json", /not valid JSON/);
      await rejected(() => post("demo", "[{\"type\":\"a.b\"}]]"), 400, "invalid_json", /not valid JSON/);
    });

    it("rejects a body that is not UTF-8 with 400 invalid_encoding", async () => {
      const bytes = Buffer.concat([Buffer.from('{"type":"a.b","subject":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      await rejected(() => post("demo", bytes), 400, "invalid_encoding", /UTF-8/);
    });

    it("rejects other content types with 415 unsupported_media_type, naming the type", async () => {
      await rejected(() => post("demo", '{"type":"a.b"}', "text/plain"), 415, "unsupported_media_type", /not "text\/plain"/);
      await rejected(() => post("demo", '{"type":"a.b"}', "application/x-www-form-urlencoded"), 415, "unsupported_media_type", /application\/json or application\/x-ndjson/);
      await rejected(() => post("demo", '{"type":"a.b"}', "application/jsonp"), 415, "unsupported_media_type", /application\/jsonp/);
      // A bare byte body carries no Content-Type at all.
      await rejected(() => post("demo", new TextEncoder().encode('{"type":"a.b"}'), null), 415, "unsupported_media_type", /\(none\)/);
    });

    it("rejects event data over MAX_EVENT_BYTES with 413 event_too_large, naming the event", async () => {
      const big = { s: "x".repeat(MAX_EVENT_BYTES) };
      const one = await rejected(() => postJson({ type: "big.one", data: big }), 413, "event_too_large", /nothing was appended/);
      expect(one.body.details).toEqual([{ index: 0, reason: expect.stringMatching(new RegExp(`more than the limit of ${MAX_EVENT_BYTES}`)) }]);
      // Size is counted in bytes, not characters: 120 three-byte characters are 360 bytes.
      const wide = await rejected(() => postJson({ type: "big.utf8", data: { s: "€".repeat(120) } }), 413, "event_too_large", /invalid/);
      expect(wide.body.details[0].index).toBe(0);
      const batch = await rejected(() => postJson([{ type: "ok.one" }, { type: "big.two", data: big }, { type: "ok.two" }]), 413, "event_too_large", /1 of 3 events is invalid/);
      expect(batch.body.details).toEqual([{ index: 1, reason: expect.stringMatching(/bytes, more than the limit/) }]);
    });

    it("rejects a body over MAX_BODY_BYTES with 413 body_too_large, declared or streamed", async () => {
      const events = Array.from({ length: 8 }, (_, i) => ({ type: "bulk.item", data: { i, pad: "p".repeat(600) } }));
      expect(JSON.stringify(events).length).toBeGreaterThan(MAX_BODY_BYTES);
      await rejected(() => post("demo", JSON.stringify(events)), 413, "body_too_large", new RegExp(`limit of ${MAX_BODY_BYTES} bytes`));

      // NDJSON streamed without a Content-Length: cut off once the bytes pass the limit.
      const lines = events.map((e) => JSON.stringify(e) + "\n");
      const streamed = () => {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const line of lines) controller.enqueue(new TextEncoder().encode(line));
            controller.close();
          },
        });
        return call("/api/v1/tenants/demo/events", { method: "POST", body, duplex: "half", headers: { "content-type": "application/x-ndjson" } });
      };
      await rejected(streamed, 413, "body_too_large", new RegExp(`limit of ${MAX_BODY_BYTES} bytes`));
    });

    it("rejects more than MAX_BATCH_EVENTS events with 413 batch_too_large (JSON and NDJSON)", async () => {
      const events = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => ({ type: "batch.item", data: { i } }));
      await rejected(() => postJson(events), 413, "batch_too_large", new RegExp(`at most ${MAX_BATCH_EVENTS} events`));
      const ndjson = events.map((e) => JSON.stringify(e)).join("\n");
      await rejected(() => post("demo", ndjson, "application/x-ndjson"), 413, "batch_too_large", new RegExp(`at most ${MAX_BATCH_EVENTS} events`));
    });

    it("rejects a batch of more than MAX_BATCH_BYTES of data with 413 batch_too_large (JSON and NDJSON)", async () => {
      // Five events of 256 bytes: each is within MAX_EVENT_BYTES, the five are past MAX_BATCH_BYTES.
      const events = Array.from({ length: 5 }, (_, i) => ({ type: "batch.big", data: { i, pad: "x".repeat(256 - `{"i":${i},"pad":""}`.length) } }));
      expect(JSON.stringify(events[0].data)).toHaveLength(256);
      const message = new RegExp(`at most ${MAX_BATCH_BYTES} bytes of event data \\(MAX_BATCH_BYTES\\); events 0–4 hold 1280`);
      await rejected(() => postJson(events), 413, "batch_too_large", message);
      const ndjson = events.map((e) => JSON.stringify(e)).join("\n");
      await rejected(() => post("demo", ndjson, "application/x-ndjson"), 413, "batch_too_large", message);
      // Four are exactly the limit: it bounds the batch's data, not the body or each event.
      const res = await postJson(events.slice(0, 4));
      expect(res.status, res.text).toBe(201);
      accepted.push(...res.body.ids);
    });

    it("rejects an empty batch with 400 no_events", async () => {
      await rejected(() => postJson([]), 400, "no_events", /no events/);
      await rejected(() => post("demo", "\n\n  \n", "application/x-ndjson"), 400, "no_events", /no events/);
      await rejected(() => post("demo", "", "application/x-ndjson"), 400, "no_events", /no events/);
    });
  });

  describe("events", () => {
    const cases: [string, unknown, RegExp][] = [
      ["missing type", { subject: "x" }, /type is required/],
      ["type not a string", { type: 5 }, /type is required and must be a string/],
      ["upper-case type", { type: "Call.Started" }, /dotted lower-case/],
      ["type without a dot", { type: "hello" }, /type must be dotted lower-case, <topic>\.<name> with at least one dot/],
      ["empty segment", { type: "order..started" }, /dotted lower-case/],
      ["leading dot", { type: ".call" }, /dotted lower-case/],
      ["trailing dot", { type: "order." }, /dotted lower-case/],
      ["space in type", { type: "call started" }, /dotted lower-case/],
      ["over-long type", { type: "a".repeat(101) }, /longer than 100/],
      ["LF in type", { type: "order.started\nevent: forged" }, /control characters/],
      ["CR in type", { type: "order.started\r" }, /control characters/],
      ["LF in subject", { type: "order.started", subject: "c-1\ndata: forged" }, /subject must not contain control characters/],
      ["CR in subject", { type: "order.started", subject: "c-1\r" }, /subject must not contain control characters/],
      ["empty subject", { type: "order.started", subject: "" }, /subject must not be empty/],
      ["over-long subject", { type: "order.started", subject: "s".repeat(201) }, /subject is longer than 200/],
      ["LF in key", { type: "order.started", key: "k\n1" }, /key must not contain control characters/],
      // JSON can carry half a surrogate pair; UTF-8 (and so SQLite) cannot, and would store U+FFFD instead.
      ["lone high surrogate in subject", { type: "order.started", subject: "c-\ud800" }, /subject must be well-formed Unicode: it holds a lone surrogate/],
      ["lone low surrogate in subject", { type: "order.started", subject: "\udc00c-1" }, /subject must be well-formed Unicode/],
      ["lone surrogate in key", { type: "order.started", key: "k-\udbff" }, /key must be well-formed Unicode/],
      ["unknown field", { type: "order.started", payload: { a: 1 } }, /unknown field "payload"/],
      ["data an array", { type: "order.started", data: [1, 2] }, /data must be a JSON object/],
      ["data a string", { type: "order.started", data: "hello" }, /data must be a JSON object/],
      ["data null", { type: "order.started", data: null }, /data must be a JSON object/],
      ["data a number", { type: "order.started", data: 7 }, /data must be a JSON object/],
      ["event a number", 42, /an event must be a JSON object/],
      ["event null", null, /an event must be a JSON object/],
      ["event a string", "order.started", /an event must be a JSON object/],
    ];

    it.each(cases)("rejects %s with 400 invalid_event and the reason", async (_name, event, reason) => {
      const reply = await rejected(() => postJson(event), 400, "invalid_event", /1 of 1 events is invalid; nothing was appended/);
      expect(reply.body.details).toHaveLength(1);
      expect(reply.body.details[0].index).toBe(0);
      expect(reply.body.details[0].reason).toMatch(reason);
    });

    it("names every bad event's index in a mixed batch and appends none of the good ones", async () => {
      const batch = [
        { type: "good.zero" },
        { type: "Bad.One" },
        { type: "good.two", subject: "fine" },
        { type: "good.three", subject: "bad\nsubject" },
        { type: "good.four", data: { ok: true } },
        { type: "good.five", payload: 1 },
        { type: "big.six", data: { s: "x".repeat(MAX_EVENT_BYTES) } },
      ];
      const reply = await rejected(() => postJson(batch), 400, "invalid_event", /4 of 7 events are invalid; nothing was appended/);
      expect(reply.body.details).toEqual([
        { index: 1, reason: expect.stringMatching(/dotted lower-case/) },
        { index: 3, reason: expect.stringMatching(/control characters/) },
        { index: 5, reason: expect.stringMatching(/unknown field "payload"/) },
        { index: 6, reason: expect.stringMatching(/more than the limit/) },
      ]);
    });

    it("names bad NDJSON lines by index, including lines that are not JSON", async () => {
      const body = ['{"type":"good.zero"}', "{not json", '{"type":"good.two"}', "", '{"type":"UPPER"}', '{"type":"good.four"}'].join("\r\n");
      const reply = await rejected(() => post("demo", body, "application/x-ndjson"), 400, "invalid_event", /2 of 5 events are invalid/);
      // Blank lines are skipped and do not count as events.
      expect(reply.body.details).toEqual([
        { index: 1, reason: expect.stringMatching(/line is not valid JSON/) },
        { index: 3, reason: expect.stringMatching(/dotted lower-case/) },
      ]);
    });

    it("reports a full NDJSON batch with one unparseable line as invalid_event, not batch_too_large", async () => {
      const lines = Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => (i === 4 ? "{oops" : JSON.stringify({ type: "batch.item", data: { i } })));
      const reply = await rejected(() => post("demo", lines.join("\n"), "application/x-ndjson"), 400, "invalid_event", new RegExp(`1 of ${MAX_BATCH_EVENTS} events is invalid`));
      expect(reply.body.details).toEqual([{ index: 4, reason: expect.stringMatching(/not valid JSON/) }]);
    });
  });

  describe("keys and tenants", () => {
    const publishTo = (tenant: string, key: string | null, headers: Record<string, string> = {}) =>
      post(tenant, JSON.stringify({ type: "auth.probe" }), "application/json", key, headers);

    it("answers a request without a key with 401 unauthorized and WWW-Authenticate", async () => {
      const reply = await rejected(() => publishTo("demo", null), 401, "unauthorized", /missing API key/);
      expect(reply.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const basic = await rejected(() => publishTo("demo", null, { authorization: "Basic dXNlcjpwYXNz" }), 401, "unauthorized", /malformed Authorization header/);
      expect(basic.headers.get("www-authenticate")).toMatch(/^Bearer/);
      // Authentication comes before the body is even looked at.
      const noKeyBadBody = await rejected(() => post("demo", "{oops", "application/json", null), 401, "unauthorized", /API key/);
      expect(noKeyBadBody.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const read = await rejected(() => call("/api/v1/tenants/demo/events", { key: null }), 401, "unauthorized", /missing API key/);
      expect(read.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const stream = await rejected(() => call("/api/v1/tenants/demo/stream", { key: null }), 401, "unauthorized", /missing API key/);
      expect(stream.headers.get("www-authenticate")).toMatch(/^Bearer/);
    });

    it("says a Bearer header with more than the key is malformed, not missing", async () => {
      for (const header of [`Bearer ${ADMIN_KEY} extra`, `Bearer ${ADMIN_KEY} ${ADMIN_KEY}`, "Bearer", `Token ${ADMIN_KEY}`]) {
        const reply = await rejected(() => publishTo("demo", null, { authorization: header }), 401, "unauthorized", /malformed Authorization header: expected "Bearer <key>"/);
        expect(reply.body.message).not.toMatch(/missing/);
        expect(reply.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
      await rejected(() => call("/api/v1/tenants/demo/stream", { key: null, headers: { authorization: `Bearer ${ADMIN_KEY} extra` } }), 401, "unauthorized", /malformed/);
    });

    it("answers a wrong key with 401 unauthorized and WWW-Authenticate", async () => {
      for (const secret of ["sb_not-a-real-key", ADMIN_KEY + "x"]) {
        const reply = await rejected(() => publishTo("demo", secret), 401, "unauthorized", /unknown or revoked API key/);
        expect(reply.headers.get("www-authenticate")).toMatch(/^Bearer.*invalid_token/);
      }
      const stream = await rejected(() => call("/api/v1/tenants/demo/stream", { key: "sb_wrong" }), 401, "unauthorized", /unknown or revoked/);
      expect(stream.headers.get("www-authenticate")).toMatch(/^Bearer/);
    });

    it("answers a revoked key with 401 on every route", async () => {
      await rejected(() => publishTo("demo", keys.revoked), 401, "unauthorized", /unknown or revoked API key/);
      await rejected(() => call("/api/v1/tenants/demo/events", { key: keys.revoked }), 401, "unauthorized", /revoked/);
      await rejected(() => call("/api/v1/tenants/demo/stream", { key: keys.revoked }), 401, "unauthorized", /revoked/);
    });

    it("revokes a key on its next request, while the server runs", async () => {
      const { id, secret } = await tenantKey(server, "demo", ["publish"]);
      const ok = await publish(server, "demo", { type: "revoke.before" }, { key: secret });
      expect(ok.status).toBe(201);
      accepted.push(...ok.body.ids);
      await revokeKey(server, id, { tenant: "demo", secret });
      await rejected(() => publishTo("demo", secret), 401, "unauthorized", /revoked/);
    });

    it("answers a key without the needed scope with 403 forbidden naming the scope", async () => {
      await rejected(() => publishTo("demo", keys.readOnly), 403, "forbidden", /lacks the "publish" scope/);
      await rejected(() => call("/api/v1/tenants/demo/events", { key: keys.publishOnly }), 403, "forbidden", /lacks the "read" scope/);
      await rejected(() => call("/api/v1/tenants/demo/stream", { key: keys.publishOnly }), 403, "forbidden", /lacks the "read" scope/);
    });

    it("never gives another tenant's key the data: 403 on publish, history and stream", async () => {
      const pub = await rejected(() => publishTo("demo", keys.acme), 403, "forbidden", /bound to another tenant.*"demo"/);
      const hist = await rejected(() => call("/api/v1/tenants/demo/events?after=0", { key: keys.acme }), 403, "forbidden", /another tenant/);
      const stream = await rejected(
        () => call("/api/v1/tenants/demo/stream", { key: keys.acme, headers: { "last-event-id": "0" } }),
        403,
        "forbidden",
        /another tenant/,
      );
      for (const reply of [pub, hist, stream]) {
        expect(reply.text).not.toContain("seed.");
        expect(reply.body.events).toBeUndefined();
      }
      // And the other way round: the demo key cannot read acme's events.
      const back = await rejected(() => call("/api/v1/tenants/acme/events", { key: keys.demo }), 403, "forbidden", /"acme"/);
      expect(back.text).not.toContain("acme-only");
      await rejected(() => call("/api/v1/tenants/acme/stream?after=0", { key: keys.demo }), 403, "forbidden", /"acme"/);
      // The admin stream is for admin keys only.
      await rejected(() => call("/api/v1/stream?after=0", { key: keys.demo }), 403, "forbidden", /admin key/);
      // The key still works on its own tenant, and sees only that tenant.
      const own = await walkHistory(server, "acme", {}, keys.acme);
      expect(own.map((e) => e.type)).toEqual(["seed.acme"]);
    });

    it("answers an unknown tenant with 404 tenant_not_found", async () => {
      await rejected(() => publishTo("nope", ADMIN_KEY), 404, "tenant_not_found", /no tenant "nope"/);
      await rejected(() => call("/api/v1/tenants/nope/events"), 404, "tenant_not_found", /no tenant "nope"/);
      await rejected(() => call("/api/v1/tenants/nope/stream"), 404, "tenant_not_found", /no tenant "nope"/);
      // A tenant-bound key learns nothing about which other tenants exist.
      await rejected(() => publishTo("nope", keys.demo), 403, "forbidden", /another tenant/);
    });
  });

  describe("positions and filters", () => {
    it("rejects a bogus Last-Event-ID on a stream with 400 invalid_position", async () => {
      for (const bogus of ["abc", "-1", "1.5", "1e3", "0x10", "12abc"]) {
        const reply = await rejected(
          () => call("/api/v1/tenants/demo/stream", { headers: { "last-event-id": bogus } }),
          400,
          "invalid_position",
          /Last-Event-ID must be an event id/,
        );
        expect(reply.body.message).toContain(bogus);
      }
    });

    it("rejects bogus after= and lastEventID= on a stream with 400 invalid_position", async () => {
      await rejected(() => call("/api/v1/tenants/demo/stream?after=later"), 400, "invalid_position", /after must be an event id.*"later"/);
      await rejected(() => call("/api/v1/tenants/demo/stream?lastEventID=x1"), 400, "invalid_position", /lastEventID must be an event id/);
      await rejected(() => call("/api/v1/stream?after=-5"), 400, "invalid_position", /after must be an event id/);
    });

    it("rejects bad after= and limit= on history", async () => {
      await rejected(() => call("/api/v1/tenants/demo/events?after=abc"), 400, "invalid_position", /after must be an event id.*"abc"/);
      await rejected(() => call("/api/v1/tenants/demo/events?after=-1"), 400, "invalid_position", /after/);
      // Only plain decimal digits: what Number() would also read (an exponent, hex, a sign, spaces) is not a limit.
      for (const limit of ["0", "1001", "abc", "2.5", "-3", "1e3", "0x10", " 10", "10 ", "+5", "1_0", "١٠"]) {
        await rejected(
          () => call(`/api/v1/tenants/demo/events?limit=${encodeURIComponent(limit)}`),
          400,
          "invalid_limit",
          /limit must be a whole number from 1 to 1000 in plain decimal digits/,
        );
      }
      for (const path of ["/api/v1/tenants/demo/workflows", "/api/v1/tenants/demo/sessions"]) {
        await rejected(() => call(`${path}?limit=1e1`), 400, "invalid_limit", /plain decimal digits, not "1e1"/);
      }
      expect((await call("/api/v1/tenants/demo/events?limit=0010")).status).toBe(200);
    });

    it("says a position past the largest id is out of range, and takes only plain digits", async () => {
      for (const position of ["9007199254740992", "12345678901234567890"]) {
        for (const path of [`/api/v1/tenants/demo/events?after=${position}`, `/api/v1/tenants/demo/stream?after=${position}`]) {
          await rejected(() => call(path), 400, "invalid_position", /after is out of range: .* is beyond the largest position, 9007199254740991/);
        }
        await rejected(
          () => call("/api/v1/tenants/demo/stream", { headers: { "last-event-id": position } }),
          400,
          "invalid_position",
          /Last-Event-ID is out of range/,
        );
      }
      await rejected(() => call(`/api/v1/tenants/demo/events?after=${encodeURIComponent(" 10")}`), 400, "invalid_position", /plain decimal digits/);
      // The largest position itself is a position: beyond the head, answered by the stream's reset, as documented.
      const history = await call("/api/v1/tenants/demo/events?after=9007199254740991");
      expect(history.status).toBe(200);
      expect(history.body.events).toEqual([]);
    });

    it("rejects bad types globs and subjects with 400 invalid_filter, on history and streams", async () => {
      for (const path of ["/api/v1/tenants/demo/events", "/api/v1/tenants/demo/stream", "/api/v1/stream"]) {
        await rejected(() => call(`${path}?types=Call.*`), 400, "invalid_filter", /"Call\.\*" is not a type or glob/);
        await rejected(() => call(`${path}?types=${encodeURIComponent("order.[ab]")}`), 400, "invalid_filter", /"order\.\[ab\]"/);
        await rejected(() => call(`${path}?types=${encodeURIComponent("order.started,call?")}`), 400, "invalid_filter", /"call\?"/);
        await rejected(() => call(`${path}?types=${encodeURIComponent("order..x")}`), 400, "invalid_filter", /not a type or glob/);
        const many = Array.from({ length: 21 }, (_, i) => `t${i}.*`).join(",");
        await rejected(() => call(`${path}?types=${many}`), 400, "invalid_filter", /at most 20/);
        await rejected(() => call(`${path}?subject=${encodeURIComponent("a\nb")}`), 400, "invalid_filter", /subject must be/);
        await rejected(() => call(`${path}?subject=${"s".repeat(201)}`), 400, "invalid_filter", /subject must be 1 to 200 characters/);
      }
    });
  });

  describe("what is accepted", () => {
    it("accepts exactly MAX_BATCH_EVENTS events and data of exactly MAX_EVENT_BYTES", async () => {
      const batch = Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => ({ type: "edge.batch", data: { i } }));
      const full = await publish(server, "demo", batch);
      expect(full.status).toBe(201);
      expect(full.body.ids).toHaveLength(MAX_BATCH_EVENTS);
      accepted.push(...full.body.ids);

      const data = { s: "" };
      data.s = "x".repeat(MAX_EVENT_BYTES - JSON.stringify(data).length);
      expect(Buffer.byteLength(JSON.stringify(data))).toBe(MAX_EVENT_BYTES);
      const edge = await publish(server, "demo", { type: "edge.size", data });
      expect(edge.status).toBe(201);
      accepted.push(...edge.body.ids);
      const stored = (await walkHistory(server, "demo", { types: "edge.size" }))[0];
      expect(stored.data).toEqual(data);
    });

    it("never delivered a rejected event to a live stream", async () => {
      const sentinel = await publish(server, "acme", { type: "zz.sentinel" });
      expect(sentinel.status).toBe(201);
      accepted.push(...sentinel.body.ids);
      await adminStream.until((c) => c.ids().includes(sentinel.body.ids[0]));
      expect(adminStream.ids()).toEqual(accepted);
      // The log holds the seeds and the accepted appends, and nothing else.
      const demo = await walkHistory(server, "demo");
      const acme = await walkHistory(server, "acme");
      expect([...demo, ...acme].map((e) => e.id).sort((a, b) => a - b)).toEqual([1, 2, 3, ...accepted]);
    });
  });
});
