import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FastReader } from "./support/fast-reader.js";
import { Probe } from "./support/probe.js";
import { ADMIN_KEY, api, startTestServer, type TestServer } from "./support/server.js";

const EVENTS = 150_000;
/** The server's MAX_BATCH_EVENTS. */
const BATCH = 1_000;

describe("a fast replay of a large tenant", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SWITCHBOARD_DURABILITY: "normal", RETENTION_MAX_EVENTS: "0", PUBLISH_RATE_PER_KEY: "0" });
  });
  afterAll(() => server.dispose());

  it("shares the loop: another tenant's round trip completes while two replays from 0 are still in progress", async () => {
    for (let sent = 0; sent < EVENTS; sent += BATCH) {
      const body = Array.from({ length: BATCH }, (_, k) => JSON.stringify({ type: "bulk.row", subject: `s${k % 50}`, data: { n: sent + k } })).join("\n");
      const res = await api(server, "/api/v1/tenants/demo/events", { method: "POST", headers: { "content-type": "application/x-ndjson" }, body });
      expect(res.status).toBe(201);
    }
    const probe = await Probe.open(server);

    // Readers on their own threads read as fast as the server writes, like fast clients elsewhere.
    const path = "/api/v1/tenants/demo/stream?after=0";
    const readers = [FastReader.open(server.url, path, { authorization: `Bearer ${ADMIN_KEY}` }), FastReader.open(server.url, path, { authorization: `Bearer ${ADMIN_KEY}` })];
    // Well under way: the probe goes in the middle of both replays, not before they start.
    await expect.poll(() => Math.min(...readers.map((r) => r.received())), { timeout: 30_000, interval: 5 }).toBeGreaterThan(10_000);

    await probe.roundTrip();
    expect(await probe.health()).toBe(200);
    // Read at the moment the probe finished: neither replay had been allowed to run to the end first.
    const atProbe = readers.map((r) => r.received());
    for (const n of atProbe) expect(n).toBeLessThan(EVENTS);

    // And both replays complete, every event exactly once.
    await expect.poll(() => readers.map((r) => r.received()), { timeout: 60_000, interval: 20 }).toEqual([EVENTS, EVENTS]);
    console.info(`replay: at the probe's answer the readers had ${atProbe.join(" and ")} of ${EVENTS} events`);
    for (const r of readers) expect(r.closed()).toBe(false);
    await Promise.all(readers.map((r) => r.close()));
    probe.close();
  }, 180_000);
});
