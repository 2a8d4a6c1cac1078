import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChildServer } from "./support/child-server.js";
import { walkHistory } from "./support/history-pages.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";
import { ADMIN_KEY, api, publish, startTestServer } from "./support/server.js";
import { control, started } from "./support/workflows.js";

const LEADS = "this node leads: it runs the cluster's timers and retention";
/** What a node logs when its expiry timer fires for a control that another timer already expired. */
const LOST_RACE = "workflow control not expired";

/** The tenant's control_expired events for a workflow, from the log. */
const expiries = async (node: { url: string }, workflowId: string) =>
  (await walkHistory(node, "demo", { types: "workflow.control_expired", subject: workflowId })).map((e) => e.data);

/** Polls (not a sleep: the condition ends it) until the check passes; the deadline is only a failure guard. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("work done once per cluster: the leader's timers", () => {
  let cluster: PostgresCluster;
  const nodes: ChildServer[] = [];
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.dispose()));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const node = async (url: string) => {
    const child = await ChildServer.start({
      DATABASE_URL: url,
      PORT: "0",
      HOST: "127.0.0.1",
      SWITCHBOARD_ADMIN_KEY: ADMIN_KEY,
      COMMAND_TIMEOUT_MS: "3000",
      LOG_LEVEL: "debug",
    });
    nodes.push(child);
    return child;
  };

  it("expires a control once with two nodes up, and the follower takes over the leader's deadlines when it is killed", async () => {
    const url = await cluster.createDatabase();
    const a = await node(url);
    await a.waitForLog((l) => l.msg === LEADS);
    const b = await node(url);
    const server = { url: b.url! };

    // Both nodes up: requested through the follower, expired by the leader alone.
    await started(server, "wf-both", "nobody-home");
    const first = await control(server, "wf-both", "pause");
    expect(first.status).toBe(201);
    await until(async () => (await expiries(server, "wf-both")).length > 0, "the first expiry");

    // The leader dies (SIGKILL: no goodbye) before the next deadline; the follower leads and fires it.
    await started(server, "wf-killed", "nobody-home");
    const second = await control(server, "wf-killed", "pause");
    expect(second.status).toBe(201);
    a.kill("SIGKILL");
    await a.exited;
    await b.waitForLog((l) => l.msg === LEADS);
    await until(async () => (await expiries(server, "wf-killed")).length > 0, "the expiry after the leader died");

    expect(await expiries(server, "wf-both")).toEqual([{ action: "pause", request_id: first.body.id }]);
    expect(await expiries(server, "wf-killed")).toEqual([{ action: "pause", request_id: second.body.id }]);
    // A follower that armed timers too would have fired them and lost the race to the leader's append.
    for (const n of [a, b]) expect(n.logLines().filter((l) => l.msg === LOST_RACE)).toEqual([]);
  }, 180_000);
});

describe("/healthz on a cluster's node", () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("answers 503 while the node cannot reach PostgreSQL, and 200 once it can again", async () => {
    const url = await cluster.createDatabase();
    const name = new URL(url).pathname.slice(1);
    const server = await startTestServer({ DATABASE_URL: url });
    const admin = new pg.Client({ connectionString: url.replace(/\/[^/]+$/, "/postgres") });
    await admin.connect();
    const health = async () => {
      const res = await fetch(`${server.url}/healthz`);
      return { status: res.status, body: (await res.json()) as { status: string; message?: string } };
    };
    try {
      expect((await health()).status).toBe(200);
      // Cut every connection of the node, and refuse new ones until told otherwise.
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name]);
      await until(async () => (await health()).status === 503, "/healthz to answer 503");
      expect((await health()).body).toMatchObject({ status: "unavailable", message: expect.stringContaining("PostgreSQL") });

      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await until(async () => (await health()).status === 200, "/healthz to answer 200 again");
      // And the node works again: an append goes through and is served.
      const res = await publish(server, "demo", { type: "health.back", data: {} });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect((await api(server, "/api/v1/tenants/demo/events?types=health.*")).status).toBe(200);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.end();
      await server.dispose();
    }
  }, 120_000);
});
