import { createHash, createHmac, randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runCliOn } from "../src/cli.js";
import { sessionCookie } from "./support/console.js";
import { walkHistory } from "./support/history-pages.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";
import { ADMIN_KEY, api, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/**
 * Two nodes of one cluster, in this process, on one PostgreSQL database:
 * what one is told, the other serves (history, streams, state, keys,
 * console sessions), and neither lets an idempotency key be used twice.
 */
describe("two nodes on one PostgreSQL database", () => {
  let cluster: PostgresCluster;
  let url: string;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    // Started together: migrations and the first start's tenant and admin key are made once.
    [a, b] = await Promise.all([startTestServer({ DATABASE_URL: url }), startTestServer({ DATABASE_URL: url })]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.dispose(), b?.dispose()]);
    await cluster?.stop();
  });

  it("made one demo tenant and one admin key, which works on both", async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      expect((await admin.query("SELECT slug FROM tenants")).rows).toEqual([{ slug: "demo" }]);
      expect((await admin.query("SELECT count(*)::int AS n FROM api_keys")).rows[0].n).toBe(1);
    } finally {
      await admin.end();
    }
    expect(a.bootstrapKey === null || b.bootstrapKey === null).toBe(true);
    for (const node of [a, b]) expect((await api(node, "/api/v1/tenants/demo/events")).status).toBe(200);
  });

  it("publishes on A: B's history and live stream get every event, in order, with no gap", async () => {
    const stream = await SseClient.open(`${b.url}/api/v1/tenants/demo/stream?types=cluster.*`, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(stream.status).toBe(200);
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await publish(i % 2 === 0 ? a : b, "demo", [{ type: "cluster.tick", data: { i } }, { type: "cluster.tock", data: { i } }]);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ids.push(...res.body.ids);
    }
    await stream.until((c) => c.ids().length >= ids.length);
    expect(stream.ids()).toEqual(ids);
    stream.close();
    const history = (await walkHistory(b, "demo", { types: "cluster.*" })).map((e) => e.id);
    expect(history).toEqual(ids);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
  });

  it("answers a workflow's state with the same head on both nodes once both have applied it", async () => {
    const started = await publish(a, "demo", { type: "workflow.started", subject: "wf-c", data: { name: "job", stages: ["one", "two"], worker: "w1" } });
    expect(started.status).toBe(201);
    const progress = await publish(b, "demo", { type: "workflow.progress", subject: "wf-c", data: { progress: 0.5, stage: "two" } });
    expect(progress.status).toBe(201);
    const state = async (node: TestServer) => (await (await api(node, "/api/v1/tenants/demo/workflows/wf-c")).json()) as { head: number; workflow: any };
    // B answered the append, so it has applied it; A has too once its head reaches the same id.
    await vi.waitFor(async () => expect((await state(a)).head).toBeGreaterThanOrEqual(progress.body.ids[0]), { timeout: 10_000 });
    const [onA, onB] = [await state(a), await state(b)];
    expect(onB.workflow.stage).toBe("two");
    expect(onA.workflow).toEqual(onB.workflow);
  });

  it("refuses an idempotency key reused on the other node, and repeats the first id for the same event", async () => {
    const event = { type: "cluster.once", data: { n: 1 }, key: "k-once" };
    const first = await publish(a, "demo", event);
    expect(first.status).toBe(201);
    const again = await publish(b, "demo", event);
    expect(again.body.ids).toEqual(first.body.ids);
    const other = await publish(b, "demo", { ...event, data: { n: 2 } });
    expect(other.status).toBe(422);
    expect(other.body.error).toBe("idempotency_key_reused");
  });

  it("takes a key made with the CLI on both nodes", async () => {
    const out = await runCliOn(["keys", "create", "--tenant", "demo", "--scopes", "read", "--label", "cluster"], url);
    const secret = /^\s+(sb_\S+)$/m.exec(out)![1];
    for (const node of [a, b]) {
      await vi.waitFor(async () => expect((await api(node, "/api/v1/tenants/demo/events", { key: secret })).status).toBe(200), { timeout: 10_000 });
    }
    expect(await runCliOn(["keys", "list"], url)).toContain("cluster");
  });

  it("looks a session its replica does not know up in PostgreSQL before refusing it", async () => {
    // A session written to PostgreSQL without announcing it: no node's replica has it.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    let cookie: string;
    try {
      const secret = (await admin.query("SELECT value FROM settings WHERE name = 'session_secret'")).rows[0].value as string;
      const keyId = (await admin.query("SELECT id FROM api_keys WHERE tenant IS NULL")).rows[0].id as string;
      const id = `ses_${randomBytes(8).toString("hex")}`;
      const token = randomBytes(24).toString("base64url");
      const now = Date.now();
      await admin.query(
        "INSERT INTO console_sessions (id, token_hash, key_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)",
        [id, createHash("sha256").update(token).digest("hex"), keyId, now, now + 3_600_000],
      );
      const payload = `${id}.${token}`;
      cookie = `sb_session=${payload}.${createHmac("sha256", secret).update(payload).digest("base64url")}`;
    } finally {
      await admin.end();
    }
    const page = await fetch(`${b.url}/t/demo`, { headers: { cookie }, redirect: "manual" });
    await page.body?.cancel();
    expect(page.status).toBe(200);
  });

  it("signs an operator in on A and serves the next page on B", async () => {
    const cookie = await sessionCookie(a);
    const page = await fetch(`${b.url}/t/demo`, { headers: { cookie }, redirect: "manual" });
    expect(page.status).toBe(200);
    await page.body?.cancel();
    // Signed out on B: A refuses the cookie too.
    const out = await fetch(`${b.url}/logout`, { method: "POST", headers: { cookie, origin: b.url }, redirect: "manual" });
    expect(out.status).toBe(303);
    await vi.waitFor(async () => {
      const res = await fetch(`${a.url}/t/demo`, { headers: { cookie }, redirect: "manual" });
      await res.body?.cancel();
      expect(res.status).toBe(302);
    }, { timeout: 10_000 });
  });
});
