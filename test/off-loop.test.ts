import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockWrites } from "./support/database.js";
import { historyPage } from "./support/history-pages.js";
import { Probe } from "./support/probe.js";
import { api, publish, startTestServer, type TestServer } from "./support/server.js";

/**
 * The database off the event loop: a commit that cannot proceed (here the
 * database is locked by another process, as a CLI or a backup tool would)
 * holds only its own publish. Everything else the server does goes on.
 */
describe("commits off the event loop", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.dispose());

  it("answers health, history and another tenant's stream while a commit waits on a locked database", async () => {
    const earlier = await publish(server, "demo", { type: "lock.before", data: {} });
    expect(earlier.status).toBe(201);
    const probe = await Probe.open(server);

    // Another connection takes the write lock and holds it.
    const locker = await lockWrites(server);
    let settled = false;
    const waiting = publish(server, "demo", { type: "lock.during", data: {} }).finally(() => (settled = true));
    try {
      await locker.untilWaitedOn();
      // The server stays responsive while that commit waits for the lock…
      expect(await probe.health()).toBe(200);
      const page = await historyPage(server, "demo");
      expect(page.events.map((e) => e.id)).toContain(earlier.body.ids[0]);
      const res = await api(server, "/api/v1/tenants/demo/agents");
      expect(res.status).toBe(200);
      // …and the publish is still waiting: nothing above was served after it gave up.
      expect(settled).toBe(false);
    } finally {
      await locker.release();
    }
    // Once the lock is gone the publish commits and is acknowledged; the probe's own round trip works too.
    const done = await waiting;
    expect(done.status).toBe(201);
    expect(done.body.ids[0]).toBeGreaterThan(earlier.body.ids[0]);
    await probe.roundTrip();
    probe.close();
  });
});
