import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { walkHistory } from "./support/history-pages.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { tenantKey } from "./support/tenants.js";

// One event per 100 s: nothing refills while a test runs, however slow the machine.
const LIMITS = { PUBLISH_RATE_PER_KEY: "0.01", PUBLISH_BURST_PER_KEY: "10" };

/**
 * A key's publishing allowance is the cluster's, not each node's: what it
 * spends through one node, the others no longer give it.
 */
describe("publishing rate limit on two nodes", () => {
  let cluster: PostgresCluster;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    [a, b] = await Promise.all([startTestServer({ DATABASE_URL: url, ...LIMITS }), startTestServer({ DATABASE_URL: url, ...LIMITS })]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.dispose(), b?.dispose()]);
    await cluster?.stop();
  });

  const post = async (node: TestServer, secret: string, tenant: string, n: number, type = "rate.ok") => {
    const res = await fetch(`${node.url}/api/v1/tenants/${tenant}/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify(Array.from({ length: n }, (_, i) => ({ type, data: { i } }))),
    });
    return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() };
  };

  it("refuses on one node what the key has spent on the other, and lets through what is left", async () => {
    const { secret } = await tenantKey(a, "shared", ["read", "publish"]);
    expect((await post(a, secret, "shared", 6)).status).toBe(201);
    // Four events left in all: node b refuses five, with the wait for the one missing (100 s at 0.01/s)...
    const refused = await post(b, secret, "shared", 5, "rate.refused");
    expect(refused.status).toBe(429);
    expect(refused.body.message).toMatch(/publish 0\.01 events per second, in bursts of up to 10/);
    expect(Number(refused.retryAfter)).toBeGreaterThan(50);
    // ...and lets three through.
    expect((await post(b, secret, "shared", 3)).status).toBe(201);
    // At most one is left, on either node; two are refused on both.
    expect((await post(a, secret, "shared", 2, "rate.refused")).status).toBe(429);
    expect((await post(b, secret, "shared", 2, "rate.refused")).status).toBe(429);
    const types = (await walkHistory(a, "shared", {}, secret)).map((e) => e.type);
    expect(types).toEqual(Array(9).fill("rate.ok"));
  });

  it("never lets a key's concurrent requests through both nodes exceed its allowance", async () => {
    const { secret } = await tenantKey(a, "raced", ["read", "publish"]);
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i % 2 === 0 ? a : b, secret, "raced", 1)));
    const accepted = replies.filter((r) => r.status === 201).length;
    expect(replies.filter((r) => r.status !== 201).every((r) => r.status === 429)).toBe(true);
    // Each node may be left holding a leased token or two it did not spend; never more than the burst goes in.
    expect(accepted).toBeLessThanOrEqual(10);
    expect(accepted).toBeGreaterThanOrEqual(6);
    expect(await walkHistory(a, "raced", {}, secret)).toHaveLength(accepted);
  });
});
