import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openDb } from "../src/store/db.js";
import { MercureSettingsStore } from "../src/store/mercure-settings.js";
import { ChildServer } from "./support/child-server.js";
import { ADMIN_KEY, databaseIn } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/**
 * A Mercure subscription announces its end when its stream closes; a
 * process killed with its streams open cannot. A single host, started
 * again, ends every subscription the log still says is active (no stream
 * outlives its process), so the subscriptions API and subscribers tracking
 * subscription events never keep a ghost.
 */
describe("Mercure subscriptions after a crash", () => {
  let dir: string;
  const children: ChildServer[] = [];
  afterEach(async () => {
    await Promise.all(children.map((c) => c.dispose()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("ends, on the next start, the subscriptions a killed process held", async () => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-mercure-crash-"));
    const database = await databaseIn(dir);
    const env = { PORT: "0", HOST: "127.0.0.1", DATABASE_URL: database, SWITCHBOARD_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: "info" };
    const first = await ChildServer.start(env);
    children.push(first);
    const settings = openDb(database);
    new MercureSettingsStore(settings).set("demo", { subscriptions: true });
    settings.$client.close();
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const list = async (url: string) => (await (await fetch(`${url}/api/v1/tenants/demo/mercure/subscriptions`, { headers: auth })).json()).subscriptions as { topic: string; active: boolean }[];

    const stream = await SseClient.open(`${first.url}/api/v1/tenants/demo/mercure?topic=urn:held`, auth);
    expect(stream.status).toBe(200);
    await vi.waitFor(async () => expect((await list(first.url)).map((s) => s.topic)).toEqual(["urn:held"]), { timeout: 30_000, interval: 100 });

    first.kill("SIGKILL");
    await first.exited;
    stream.close();

    const second = await ChildServer.start(env);
    children.push(second);
    expect(await list(second.url)).toEqual([]);
    // Its end is in the log, as the stream would have announced it.
    const history = await (await fetch(`${second.url}/api/v1/tenants/demo/events?types=mercure.subscription`, { headers: auth })).json();
    const documents = history.events.map((e: { data: { data: string } }) => JSON.parse(e.data.data));
    expect(documents.map((d: { topic: string; active: boolean }) => [d.topic, d.active])).toEqual([
      ["urn:held", true],
      ["urn:held", false],
    ]);
    const db = openDb(database);
    try {
      expect(db.$client.prepare("SELECT count(*) FROM mercure_subscriptions WHERE active = 1").pluck().get()).toBe(0);
    } finally {
      db.$client.close();
    }
  });
});
