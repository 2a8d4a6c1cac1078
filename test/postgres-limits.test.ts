import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { walkHistory } from "./support/history-pages.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { tenantKey } from "./support/tenants.js";

// One event per 100 s: nothing refills while a test runs, however slow the machine. Three streams per tenant.
const LIMITS = { PUBLISH_RATE_PER_KEY: "0.01", PUBLISH_BURST_PER_KEY: "10", SSE_MAX_STREAMS_PER_TENANT: "3" };

/**
 * A key's publishing allowance and a tenant's stream cap are the cluster's,
 * not each node's: what a key spends through one node, the others no
 * longer give it, and streams open on one node count on the others.
 */
describe("limits on two nodes", () => {
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

  it("counts a tenant's streams on every node toward its cap, and frees the place of one that closes", async () => {
    const { secret } = await tenantKey(a, "capped", ["read"]);
    const open = async (node: TestServer) => {
      const stop = new AbortController();
      const res = await fetch(`${node.url}/api/v1/tenants/capped/stream`, { headers: { authorization: `Bearer ${secret}` }, signal: stop.signal });
      if (res.status !== 200) await res.body?.cancel();
      return { status: res.status, close: () => stop.abort() };
    };
    const onA = [await open(a), await open(a), await open(a)];
    expect(onA.map((s) => s.status)).toEqual([200, 200, 200]);
    // Node b learns of them within a second or so; a stream it lets in meanwhile is closed again at once.
    await expect
      .poll(async () => {
        const s = await open(b);
        s.close();
        return s.status;
      }, { timeout: 30_000, interval: 200 })
      .toBe(429);
    onA[0].close();
    const freed = await vi.waitFor(
      async () => {
        const s = await open(b);
        if (s.status !== 200) throw new Error(`node b still refuses: ${s.status}`);
        return s;
      },
      { timeout: 30_000, interval: 200 },
    );
    freed.close();
    for (const s of onA) s.close();
  });
});
