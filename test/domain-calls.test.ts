import { readFileSync, existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onPostgres, query } from "./support/database.js";
import { logHead, walkHistory, type EventJson } from "./support/history-pages.js";
import { RawStream } from "./support/raw-stream.js";
import { tenantKey } from "./support/tenants.js";
import { ADMIN_KEY, api, publish, startTestServer, type TestServer } from "./support/server.js";

/**
 * The call panel through the HTTP API: calls start and end, the last 20
 * ended calls are kept, analyses attach, invalid transitions change nothing,
 * numbers are masked to their last 4 digits everywhere they could appear,
 * and an admin sees every tenant's calls while a tenant key sees its own.
 */
describe("calls domain", () => {
  let server: TestServer;
  const keys = { demo: "", acme: "" };

  beforeAll(async () => {
    server = await startTestServer();
    keys.demo = (await tenantKey(server, "demo", ["read", "publish"])).secret;
    keys.acme = (await tenantKey(server, "acme", ["read", "publish"])).secret;
  });
  afterAll(() => server?.dispose());

  const getJson = async (path: string, key = ADMIN_KEY) => {
    const res = await api(server, path, { key });
    return { status: res.status, text: await res.clone().text(), body: (await res.json()) as any };
  };
  const panel = async (tenant = "demo") => {
    const { status, body } = await getJson(`/api/v1/tenants/${tenant}/calls`);
    expect(status).toBe(200);
    return body as { head: number; active: any[]; recent: any[] };
  };
  const ok = async (tenant: string, event: unknown) => {
    const res = await publish(server, tenant, event);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.ids[0] as number;
  };
  const eventsOf = async (subject: string, tenant = "demo") => (await walkHistory(server, tenant, { subject })).filter((e) => e.type.startsWith("call."));

  it("shows a started call as active with only the last 4 digits of its number, wherever it appears", async () => {
    const full = "+1 (415) 555-0199";
    const forbidden = ["4155550199", "555-0199", "(415)", "415555"];
    const sse = RawStream.open(server.url, "/api/v1/tenants/demo/stream?types=call.*", { authorization: `Bearer ${ADMIN_KEY}` });
    try {
      // A stream that is live before the event, so the frame it carries is the one fanned out.
      await waitFor(() => sse.head().startsWith("HTTP/1.1 200"));
      const id = await ok("demo", {
        type: "call.started",
        subject: "call-mask",
        data: { direction: "inbound", number: full, agent: "ava", client: "acme-co" },
      });

      const state = await getJson("/api/v1/tenants/demo/calls");
      expect(state.body.head).toBeGreaterThanOrEqual(id);
      const call = state.body.active.find((c: any) => c.call_id === "call-mask");
      expect(call).toMatchObject({
        tenant: "demo",
        call_id: "call-mask",
        direction: "inbound",
        number: "•••0199",
        agent: "ava",
        client: "acme-co",
        status: "active",
        ended_at: null,
        duration_ms: null,
        event_id: id,
      });
      expect(new Date(call.started_at).toISOString()).toBe(call.started_at);

      const detail = await getJson("/api/v1/tenants/demo/calls/call-mask");
      expect(detail.body.call.number).toBe("•••0199");
      const history = await api(server, "/api/v1/tenants/demo/events?types=call.*").then((r) => r.text());
      expect(JSON.parse(history).events.find((e: EventJson) => e.id === id).data.number).toBe("•••0199");

      await waitFor(() => sse.ids().includes(id));
      // The exact bytes on the wire (chunk framing included), as UTF-8.
      const streamed = Buffer.from(sse.raw, "latin1").toString("utf8");
      expect(streamed).toContain("•••0199");

      // The database: the events and calls tables row by row, then on SQLite every byte of the file and its WAL
      // (PostgreSQL's files are its own: the rows stand for them).
      const rows = JSON.stringify(await query(server, "SELECT * FROM events")) + JSON.stringify(await query(server, "SELECT * FROM calls"));
      expect(rows).toContain("•••0199");
      const files = onPostgres(server) ? [] : [server.dbPath, `${server.dbPath}-wal`].filter(existsSync).map((f) => readFileSync(f).toString("latin1"));

      for (const text of [state.text, detail.text, history, streamed, rows]) {
        expect(text).not.toContain(full);
        for (const f of forbidden) expect(text).not.toContain(f);
      }
      for (const bytes of files) for (const f of forbidden) expect(bytes).not.toContain(f);
    } finally {
      sse.destroy();
    }
  });

  it("moves an ended call to the recent list with its duration and status", async () => {
    await ok("demo", { type: "call.started", subject: "call-end", data: { direction: "outbound", number: "+442071838750", agent: "bo" } });
    expect((await panel()).active.map((c) => c.call_id)).toContain("call-end");

    const id = await ok("demo", { type: "call.ended", subject: "call-end", data: { duration_ms: 65_000, status: "voicemail" } });
    const { active, recent } = await panel();
    expect(active.map((c) => c.call_id)).not.toContain("call-end");
    expect(recent[0]).toMatchObject({
      call_id: "call-end",
      status: "ended",
      direction: "outbound",
      number: "•••8750",
      agent: "bo",
      duration_ms: 65_000,
      end_status: "voicemail",
      event_id: id,
    });
    expect(Date.parse(recent[0].ended_at)).toBeGreaterThanOrEqual(Date.parse(recent[0].started_at));

    // Without a status the call counts as completed.
    await ok("demo", { type: "call.started", subject: "call-plain", data: { direction: "inbound", number: "5551234" } });
    await ok("demo", { type: "call.ended", subject: "call-plain", data: {} });
    expect((await panel()).recent[0]).toMatchObject({ call_id: "call-plain", end_status: "completed", duration_ms: null });
  });

  it("keeps an ended call whose start was never reported, with what the end says", async () => {
    await ok("demo", { type: "call.ended", subject: "call-lost-start", data: { duration_ms: 30_000, status: "completed", direction: "outbound", number: "+15550001111", agent: "cy" } });
    const call = (await panel()).recent.find((c) => c.call_id === "call-lost-start");
    expect(call).toMatchObject({ direction: "outbound", number: "•••1111", agent: "cy", duration_ms: 30_000, status: "ended" });
    expect(Date.parse(call.ended_at) - Date.parse(call.started_at)).toBe(30_000);
  });

  it("lists only the last 20 ended calls, the latest first", async () => {
    const ended: string[] = [];
    for (let n = 0; n < 25; n++) {
      const subject = `call-batch-${n}`;
      await ok("demo", { type: "call.started", subject, data: { direction: "inbound", number: `+1555000${String(n).padStart(4, "0")}` } });
      await ok("demo", { type: "call.ended", subject, data: { duration_ms: n * 1000 } });
      ended.push(subject);
    }
    const { recent } = await panel();
    expect(recent).toHaveLength(20);
    expect(recent.map((c) => c.call_id)).toEqual(ended.slice(-20).reverse());
    // Older ended calls are still known one by one, just not listed.
    expect((await getJson("/api/v1/tenants/demo/calls/call-batch-0")).body.call.status).toBe("ended");
  });

  it("attaches an analysis to an active or ended call", async () => {
    await ok("demo", { type: "call.started", subject: "call-analyzed", data: { direction: "inbound", number: "+15557654321" } });
    await ok("demo", { type: "call.analyzed", subject: "call-analyzed", data: { summary: "Asked about opening hours.", sentiment: "Neutral" } });
    expect((await getJson("/api/v1/tenants/demo/calls/call-analyzed")).body.call).toMatchObject({ status: "active", summary: "Asked about opening hours.", sentiment: "Neutral" });

    await ok("demo", { type: "call.ended", subject: "call-analyzed", data: { duration_ms: 12_000 } });
    const id = await ok("demo", { type: "call.analyzed", subject: "call-analyzed", data: { summary: "Booked a table for two.", sentiment: "Positive", successful: true } });
    const { call } = (await getJson("/api/v1/tenants/demo/calls/call-analyzed")).body;
    expect(call).toMatchObject({ status: "ended", duration_ms: 12_000, summary: "Booked a table for two.", sentiment: "Positive", event_id: id });
    // `successful` has no column: the log keeps it.
    expect((await eventsOf("call-analyzed")).at(-1)!.data).toEqual({ summary: "Booked a table for two.", sentiment: "Positive", successful: true });
  });

  it("refuses invalid transitions with 409 and appends nothing", async () => {
    await ok("demo", { type: "call.started", subject: "call-twice", data: { direction: "inbound", number: "+15550002222" } });
    const conflicts: [unknown, RegExp][] = [
      [{ type: "call.started", subject: "call-twice", data: { direction: "inbound", number: "+15550002222" } }, /already started/],
      [{ type: "call.analyzed", subject: "call-nobody", data: { summary: "?" } }, /no call call-nobody/],
    ];
    const before = await logHead(server);
    for (const [event, reason] of conflicts) {
      const res = await publish(server, "demo", event);
      expect(res.status).toBe(409);
      expect(res.body.error).toBe("conflict");
      expect(res.body.message).toMatch(reason);
    }
    await ok("demo", { type: "call.ended", subject: "call-twice", data: { duration_ms: 1000 } });
    const afterEnd = await logHead(server);
    for (const [event, reason] of [
      [{ type: "call.ended", subject: "call-twice", data: { duration_ms: 9000 } }, /already ended/],
      [{ type: "call.started", subject: "call-twice", data: { direction: "outbound", number: "+15550003333" } }, /already ended/],
    ] as const) {
      const res = await publish(server, "demo", event);
      expect(res.status).toBe(409);
      expect(res.body.message).toMatch(reason);
    }
    expect(afterEnd).toBe(before + 1);
    expect(await logHead(server)).toBe(afterEnd);
    expect((await eventsOf("call-twice")).map((e) => e.type)).toEqual(["call.started", "call.ended"]);
    expect(await eventsOf("call-nobody")).toEqual([]);
    expect((await getJson("/api/v1/tenants/demo/calls/call-twice")).body.call).toMatchObject({ status: "ended", duration_ms: 1000, direction: "inbound" });
    expect((await getJson("/api/v1/tenants/demo/calls/call-nobody")).status).toBe(404);

    // In a batch, one conflict rejects every event of the request.
    const batch = await publish(server, "demo", [
      { type: "call.started", subject: "call-batched", data: { direction: "inbound", number: "+15550004444" } },
      { type: "call.ended", subject: "call-twice", data: {} },
    ]);
    expect(batch.status).toBe(409);
    expect((await getJson("/api/v1/tenants/demo/calls/call-batched")).status).toBe(404);
    expect(await logHead(server)).toBe(afterEnd);
  });

  it("refuses malformed call events with 400", async () => {
    const before = await logHead(server);
    const cases: [unknown, RegExp][] = [
      [{ type: "call.started", subject: "call-bad", data: { direction: "sideways", number: "+15550005555" } }, /data\.direction/],
      [{ type: "call.started", subject: "call-bad", data: { direction: "inbound" } }, /data\.number/],
      [{ type: "call.started", data: { direction: "inbound", number: "+15550005555" } }, /needs a subject/],
      [{ type: "call.started", subject: "call-bad", data: { direction: "inbound", number: "+15550005555", colour: "red" } }, /unknown field "colour"/],
      [{ type: "call.ended", subject: "call-bad", data: { duration_ms: -5 } }, /data\.duration_ms/],
      [{ type: "call.transferred", subject: "call-bad", data: {} }, /not a call event/],
    ];
    for (const [event, reason] of cases) {
      const res = await publish(server, "demo", event);
      expect(res.status, JSON.stringify(event)).toBe(400);
      expect(res.body.details[0].reason).toMatch(reason);
      // The refusal never repeats the number it was given.
      expect(JSON.stringify(res.body)).not.toContain("5550005555");
    }
    expect(await logHead(server)).toBe(before);
  });

  it("agrees with the log at its head", async () => {
    // Publishing keeps going while the state is read: whatever head it reports, the state is the log through it.
    const busy = (async () => {
      for (let n = 0; n < 15; n++) {
        await ok("demo", { type: "call.started", subject: `call-fold-${n}`, data: { direction: "inbound", number: `+1555111${n}` } });
        if (n % 2 === 0) await ok("demo", { type: "call.ended", subject: `call-fold-${n}`, data: { duration_ms: n } });
        if (n % 3 === 0) await ok("demo", { type: "call.analyzed", subject: `call-fold-${n}`, data: { sentiment: "Positive" } });
      }
    })();
    const snapshots: any[] = [];
    while (snapshots.length < 3) snapshots.push(await panel());
    await busy;
    snapshots.push(await panel());

    const log = await walkHistory(server, "demo", { types: "call.*" });
    for (const snap of snapshots) {
      const folded = foldCalls(log.filter((e) => e.id <= snap.head));
      const pick = (c: any) => ({
        call_id: c.call_id,
        status: c.status,
        direction: c.direction,
        number: c.number,
        agent: c.agent,
        client: c.client,
        duration_ms: c.duration_ms,
        end_status: c.end_status,
        summary: c.summary,
        sentiment: c.sentiment,
        event_id: c.event_id,
      });
      expect(snap.active.map(pick)).toEqual(folded.active.map(pick));
      expect(snap.recent.map(pick)).toEqual(folded.recent.map(pick));
    }
  });

  it("shows an admin every tenant's calls, filtered by tenant and client, and a tenant key only its own", async () => {
    await ok("acme", { type: "call.started", subject: "acme-1", data: { direction: "inbound", number: "+15550006666", client: "globex" } });
    await ok("acme", { type: "call.started", subject: "acme-2", data: { direction: "outbound", number: "+15550007777", client: "initech" } });
    await ok("demo", { type: "call.started", subject: "demo-globex", data: { direction: "inbound", number: "+15550008888", client: "globex" } });
    const ids = (list: any[]) => list.map((c) => `${c.tenant}/${c.call_id}`).sort();

    const all = await getJson("/api/v1/calls");
    expect(all.status).toBe(200);
    expect(typeof all.body.head).toBe("number");
    expect(ids(all.body.active)).toEqual(expect.arrayContaining(["acme/acme-1", "acme/acme-2", "demo/demo-globex", "demo/call-mask"]));
    expect(all.body.recent.length).toBeLessThanOrEqual(20);

    expect(ids((await getJson("/api/v1/calls?tenant=acme")).body.active)).toEqual(["acme/acme-1", "acme/acme-2"]);
    expect(ids((await getJson("/api/v1/calls?client=globex")).body.active)).toEqual(["acme/acme-1", "demo/demo-globex"]);
    expect(ids((await getJson("/api/v1/calls?tenant=demo&client=globex")).body.active)).toEqual(["demo/demo-globex"]);
    expect(ids((await getJson("/api/v1/calls?tenant=acme&client=globex")).body.active)).toEqual(["acme/acme-1"]);

    // A tenant key: 403 on the admin view, its own tenant only at its endpoint, 403 at another's.
    const forbidden = await getJson("/api/v1/calls", keys.demo);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toBe("forbidden");
    expect(forbidden.text).not.toContain("acme-1");
    const own = await getJson("/api/v1/tenants/demo/calls", keys.demo);
    expect(own.status).toBe(200);
    expect(new Set([...own.body.active, ...own.body.recent].map((c: any) => c.tenant))).toEqual(new Set(["demo"]));
    expect(ids(own.body.active)).toContain("demo/demo-globex");
    expect(ids((await getJson("/api/v1/tenants/demo/calls?client=globex", keys.demo)).body.active)).toEqual(["demo/demo-globex"]);
    expect((await getJson("/api/v1/tenants/acme/calls", keys.demo)).status).toBe(403);
    expect((await getJson("/api/v1/tenants/acme/calls/acme-1", keys.demo)).status).toBe(403);
    expect(ids((await getJson("/api/v1/tenants/acme/calls", keys.acme)).body.active)).toEqual(["acme/acme-1", "acme/acme-2"]);
    // The same call id in another tenant is another call.
    expect((await getJson("/api/v1/tenants/demo/calls/acme-1", keys.demo)).status).toBe(404);
  });
});

/** The call panel recomputed from the log alone, by the rules the projection documents. */
function foldCalls(events: EventJson[]) {
  const calls = new Map<string, any>();
  for (const e of events) {
    const d = e.data as any;
    const ts = Date.parse(e.ts);
    const current = calls.get(e.subject!);
    if (e.type === "call.started") {
      calls.set(e.subject!, { call_id: e.subject, status: "active", direction: d.direction, number: d.number, agent: d.agent ?? null, client: d.client ?? null, started: ts, ended: null, duration_ms: null, end_status: null, summary: null, sentiment: null, event_id: e.id });
    } else if (e.type === "call.ended") {
      const base = current ?? { call_id: e.subject, direction: d.direction ?? "inbound", number: d.number ?? "unknown", agent: d.agent ?? null, client: d.client ?? null, summary: null, sentiment: null, started: ts - (d.duration_ms ?? 0) };
      calls.set(e.subject!, { ...base, status: "ended", ended: ts, duration_ms: d.duration_ms ?? null, end_status: d.status ?? "completed", event_id: e.id });
    } else if (e.type === "call.analyzed") {
      // A field the analysis leaves out keeps its earlier value.
      calls.set(e.subject!, { ...current, summary: d.summary ?? current.summary, sentiment: d.sentiment ?? current.sentiment, event_id: e.id });
    }
  }
  const all = [...calls.values()];
  const newest = (at: "started" | "ended") => (a: any, b: any) => b[at] - a[at] || b.event_id - a.event_id;
  return {
    active: all.filter((c) => c.status === "active").sort(newest("started")),
    recent: all.filter((c) => c.status === "ended").sort(newest("ended")).slice(0, 20),
  };
}

async function waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}
