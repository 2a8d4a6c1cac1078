import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { historyPage } from "./support/history-pages.js";
import { Probe } from "./support/probe.js";
import { RawStream } from "./support/raw-stream.js";
import { publish, startTestServer, type TestServer } from "./support/server.js";
import { tenantKey } from "./support/tenants.js";

/** Ten stars: as a backtracking `.*` regex, matching it against the type below took minutes of blocked loop. */
const GLOB = "*.*.*.*.*.*.*.*.*.*.zz";
/** 99 characters, 49 dots: the most splits between the stars, and it does not match (it does not end in `.zz`). */
const DOTTED = Array.from({ length: 50 }, () => "a").join(".");
/** 100 characters, 49 dots, ending in `.zz`: it matches. */
const DOTTED_MATCH = Array.from({ length: 49 }, () => "a").join(".") + ".zz";
const SHORT_MATCH = "a.b.c.d.e.f.g.h.i.j.zz";

describe("a stream filtered by a pathological glob", () => {
  let server: TestServer;
  let probe: Probe;
  let auth: Record<string, string>;
  const streams: RawStream[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    probe = await Probe.open(server);
    auth = { authorization: `Bearer ${(await tenantKey(server, "hostile", ["read", "publish"])).secret}` };
  });
  afterAll(async () => {
    for (const s of streams) s.destroy();
    probe?.close();
    await server?.dispose();
  });

  const open = (query: string) => {
    const s = RawStream.open(server.url, `/api/v1/tenants/hostile/stream?${query}`, auth);
    streams.push(s);
    return s;
  };

  it("does not stall other tenants, and delivers exactly the matching events live, on catch-up and in history", async () => {
    expect(DOTTED).toHaveLength(99);
    expect(DOTTED.split(".")).toHaveLength(50);
    const live = open(`types=${GLOB}`);
    await vi.waitFor(() => expect(live.head()).toMatch(/^HTTP\/1\.1 200/));

    const key = auth.authorization.slice("Bearer ".length);
    const first = await publish(server, "hostile", { type: DOTTED, data: {} }, { key });
    expect(first.status).toBe(201);

    // Another tenant publishes, receives its own event, and gets its health answer meanwhile.
    await probe.roundTrip();
    await expect(probe.health()).resolves.toBe(200);

    const rest = await publish(server, "hostile", [{ type: SHORT_MATCH, data: {} }, { type: DOTTED, data: {} }, { type: DOTTED_MATCH, data: {} }, { type: "a.zz.b", data: {} }], { key });
    expect(rest.status).toBe(201);
    const matching = [rest.body.ids[0], rest.body.ids[2]];
    await vi.waitFor(() => expect(live.ids()).toEqual(matching));
    await probe.roundTrip();

    // A stream catching up from the start, and history, select the same events.
    const replay = open(`types=${GLOB}&after=0`);
    await vi.waitFor(() => expect(replay.ids()).toEqual(matching));
    const page = await historyPage(server, "hostile", { types: GLOB, after: 0 });
    expect(page.events.map((e) => e.id)).toEqual(matching);
    expect(page.events.map((e) => e.type)).toEqual([SHORT_MATCH, DOTTED_MATCH]);
    await expect(probe.health()).resolves.toBe(200);
  });
});
