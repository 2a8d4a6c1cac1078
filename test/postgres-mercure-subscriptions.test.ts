import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MercureSettingsStore } from "../src/store/mercure-settings.js";
import { ChildServer } from "./support/child-server.js";
import { walkHistory } from "./support/history-pages.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { onAccess } from "./support/tenants.js";

const auth = { authorization: `Bearer ${ADMIN_KEY}` };

/**
 * Mercure subscriptions on a cluster: a node that dies holding streams
 * cannot announce their end, so the leader ends the subscriptions of nodes
 * the census has stopped hearing from, once each, and every node's
 * subscriptions API agrees.
 */
describe("Mercure subscriptions of a node that dies", () => {
  let cluster: PostgresCluster;
  let leader: TestServer;
  let other: ChildServer & { url: string };

  beforeAll(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    // Started first, this node takes leadership; the other is a process of its own, to be killed.
    leader = await startTestServer({ DATABASE_URL: url });
    other = await ChildServer.start({ DATABASE_URL: url, PORT: "0", HOST: "127.0.0.1", SWITCHBOARD_ADMIN_KEY: ADMIN_KEY });
    await onAccess(leader, (db) => new MercureSettingsStore(db).set("demo", { subscriptions: true }));
  }, 120_000);
  afterAll(async () => {
    other?.kill("SIGKILL");
    await other?.exited;
    await leader?.dispose();
    await cluster?.stop();
  });

  const active = async (node: { url: string }) =>
    ((await (await fetch(`${node.url}/api/v1/tenants/demo/mercure/subscriptions`, { headers: auth })).json()).subscriptions ?? []) as { topic: string; active: boolean }[];

  it("ends them once, from the leader, and every node's API lists them no more", async () => {
    // Once the other node has the setting, its stream announces itself, and the leader lists it.
    let held: SseClient | undefined;
    await vi.waitFor(
      async () => {
        held?.close();
        held = await SseClient.open(`${other.url}/api/v1/tenants/demo/mercure?topic=urn:on-the-other-node`, auth);
        await expect.poll(async () => (await active(leader)).map((s) => s.topic), { timeout: 2_000, interval: 100 }).toContain("urn:on-the-other-node");
      },
      { timeout: 60_000, interval: 100 },
    );
    // A subscription on the leader, which lives on.
    const staying = await SseClient.open(`${leader.url}/api/v1/tenants/demo/mercure?topic=urn:on-the-leader`, auth);
    await expect.poll(async () => (await active(leader)).map((s) => s.topic).sort(), { timeout: 30_000, interval: 100 }).toEqual(["urn:on-the-leader", "urn:on-the-other-node"]);

    other.kill("SIGKILL");
    await other.exited;
    await expect.poll(async () => (await active(leader)).map((s) => s.topic), { timeout: 120_000, interval: 250 }).toEqual(["urn:on-the-leader"]);

    const events = await walkHistory(leader, "demo", { types: "mercure.subscription" });
    const about = (topic: string) => events.map((e) => JSON.parse((e.data as { data: string }).data)).filter((d) => d.topic === topic).map((d) => d.active);
    // The dead node's subscriptions ended once; the leader's own is untouched.
    expect(about("urn:on-the-other-node").slice(-2)).toEqual([true, false]);
    expect(about("urn:on-the-other-node").filter((a) => !a)).toHaveLength(about("urn:on-the-other-node").filter((a) => a).length);
    expect(about("urn:on-the-leader")).toEqual([true]);
    staying.close();
    held?.close();
    // The leader waits 30 s (ORPHANED_SUBSCRIPTION_MS) after a subscription's last event before ending it.
  }, 180_000);
});
