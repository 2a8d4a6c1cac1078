import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prunerOn, query } from "./support/database.js";
import { walkHistory } from "./support/history-pages.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";
import { ADMIN_KEY, api, startTestServer, type TestServer } from "./support/server.js";
import { createTenant, tenantKey } from "./support/tenants.js";

const ROOT = resolve(import.meta.dirname, "..");

/** The CLI as an operator runs it, in a process of its own; `onStderr` sees what it prints as it goes. */
function migrate(args: string[], onStderr?: (text: string, kill: () => void) => void) {
  const child = spawn(process.execPath, ["--enable-source-maps", "dist/cli.js", "migrate", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
    onStderr?.(stderr, () => child.kill("SIGKILL"));
  });
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((done) =>
    child.once("close", (code, signal) => done({ code, signal, stdout, stderr })),
  );
}

const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join("\n");

/**
 * `migrate` moves a single host's SQLite data to the PostgreSQL database of
 * a cluster: every event with its id, every other table whole, resumable
 * after a crash, verified; then a node on PostgreSQL serves it all as the
 * single host did.
 */
describe("migrate: a single host's SQLite data moved to PostgreSQL", () => {
  let cluster: PostgresCluster;
  let dir: string;
  let file: string;
  let lite: TestServer | undefined;
  let node: TestServer | undefined;

  beforeAll(async () => {
    cluster = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), "switchboard-move-"));
    file = join(dir, "switchboard.db");
  });
  afterAll(async () => {
    await lite?.dispose();
    await node?.dispose();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies every event with its id and every table, resumes after being killed, and a node on PostgreSQL serves it all", async () => {
    lite = await startTestServer({ DATABASE_URL: file }, dir);
    await createTenant(lite, "acme");
    await createTenant(lite, "beta");
    const acme = await tenantKey(lite, "acme", ["read", "publish"]);
    const publish = async (tenant: string, events: object[]) => {
      const res = await api(lite!, `/api/v1/tenants/${tenant}/events`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: ndjson(events) });
      expect(res.status).toBe(201);
    };
    for (let b = 0; b < 6; b++) {
      await publish("acme", Array.from({ length: 250 }, (_, i) => ({ type: "bench.step", subject: `job-${i % 7}`, data: { b, i, text: "é ✓ \"quoted\"\nline" }, key: i % 50 === 0 ? `k-${b}-${i}` : undefined })));
      await publish("beta", Array.from({ length: 50 }, (_, i) => ({ type: "deploy.step", data: { b, i } })));
    }
    // A projection to carry over: a call, started then ended.
    await publish("acme", [
      { type: "call.started", subject: "call-1", data: { direction: "inbound", number: "5551234" } },
      { type: "call.ended", subject: "call-1", data: {} },
    ]);
    // Retention has pruned the first 100 of beta's events.
    const betaIds = (await walkHistory(lite, "beta")).map((e) => e.id);
    const { pruner, close } = prunerOn(lite);
    expect(await pruner.deleteBatch("beta", betaIds[99], 1_000)).toBe(100);
    await close();

    const before = {
      acme: await walkHistory(lite, "acme"),
      beta: await walkHistory(lite, "beta"),
      calls: await (await api(lite, "/api/v1/tenants/acme/calls")).json(),
    };
    expect(before.acme).toHaveLength(1_502);
    expect(before.beta).toHaveLength(200);
    const head = Math.max(before.acme.at(-1)!.id, before.beta.at(-1)!.id);
    await lite.close();
    lite = undefined;

    const url = await cluster.createDatabase();
    // Killed once it has copied 30 pages of 10 events (140 more are left, time enough for the kill to land);
    // nothing it committed is lost or copied twice.
    const killed = await migrate(["--from", file, "--to", url, "--page", "10"], (text, kill) => {
      if (/copied 300 of/.test(text)) kill();
    });
    expect(killed.signal).toBe("SIGKILL");
    // A COMMIT the killed process had sent still completes in its backend after the process is gone:
    // count once no other backend is left on the database.
    await expect
      .poll(async () => (await query<{ n: number }>(url, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()"))[0].n, {
        timeout: 30_000,
        interval: 50,
      })
      .toBe(0);
    const partial = await query<{ n: number }>(url, "SELECT count(*) AS n FROM events");
    expect(partial[0].n).toBeGreaterThanOrEqual(300);
    expect(partial[0].n).toBeLessThan(1_702);

    const done = await migrate(["--from", file, "--to", url, "--page", "100"]);
    expect(done.stderr).not.toMatch(/Error/);
    expect(done.code).toBe(0);
    const resumedAfter = Number(/resumed after event (\d+)/.exec(done.stdout)?.[1]);
    expect(resumedAfter).toBeGreaterThan(0);
    expect(done.stdout).toContain(`copied ${1_702 - partial[0].n} events`);
    expect(done.stdout).toMatch(/verified: 1702 events of 2 tenants, .* sha256 [0-9a-f]{64}/);
    expect(done.stdout).toContain(`new events start after id ${head}`);

    // Run again: nothing left to copy, and it says so.
    const again = await migrate(["--from", file, "--to", url]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("copied 0 events");

    node = await startTestServer({ DATABASE_URL: url });
    expect(await walkHistory(node, "acme")).toEqual(before.acme);
    expect(await walkHistory(node, "beta")).toEqual(before.beta);
    expect(await (await api(node, "/api/v1/tenants/acme/calls")).json()).toEqual(before.calls);
    // The tenant's key was carried over, and new events follow the file's ids.
    const res = await fetch(`${node.url}/api/v1/tenants/acme/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${acme.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "bench.after", data: {} }),
    });
    expect(res.status).toBe(201);
    expect((await res.json()).ids[0]).toBe(head + 1);
    // An idempotency key used on the single host is still known.
    const keyed = before.acme.find((e) => e.type === "bench.step" && (e.data as { b: number; i: number }).b === 0 && (e.data as { i: number }).i === 0)!;
    const repeat = await api(node, "/api/v1/tenants/acme/events", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "bench.step", subject: "job-0", data: { b: 0, i: 0, text: "é ✓ \"quoted\"\nline" }, key: "k-0-0" }),
    });
    expect(await repeat.json()).toEqual({ ids: [keyed.id] });
  });

  it("copies the bulk while the single host still runs, then the rest, and what retention pruned in between", async () => {
    const own = mkdtempSync(join(tmpdir(), "switchboard-move-"));
    const source = join(own, "switchboard.db");
    const url = await cluster.createDatabase();
    const host = await startTestServer({ DATABASE_URL: source }, own);
    try {
      const publish = async (n: number) => {
        const res = await api(host, "/api/v1/tenants/demo/events", {
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
          body: ndjson(Array.from({ length: n }, (_, i) => ({ type: "bulk.event", data: { i } }))),
        });
        expect(res.status).toBe(201);
      };
      await publish(100);
      const first = await migrate(["--from", source, "--to", url]);
      expect(first.code).toBe(0);
      expect(first.stdout).toContain("started on an empty database");
      expect(first.stdout).toContain("verified: 100 events of 1 tenant,");
      // The host runs on: 50 more events, and retention prunes the 30 oldest.
      await publish(50);
      const ids = (await walkHistory(host, "demo")).map((e) => e.id);
      const { pruner, close } = prunerOn(host);
      expect(await pruner.deleteBatch("demo", ids[29], 1_000)).toBe(30);
      await close();
    } finally {
      await host.close();
    }
    const second = await migrate(["--from", source, "--to", url]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("resumed after event 100");
    expect(second.stdout).toContain("copied 50 events, removed 30 that retention has pruned since");
    expect(second.stdout).toContain("verified: 120 events of 1 tenant,");
    expect(await query<{ first: number }>(url, "SELECT min(id) AS first FROM events")).toEqual([{ first: 31 }]);
    rmSync(own, { recursive: true, force: true });
  });

  it("refuses a target a node is running on, or one holding other events, and changes nothing", async () => {
    const url = await cluster.createDatabase();
    const other = await startTestServer({ DATABASE_URL: url });
    try {
      const res = await fetch(`${other.url}/api/v1/tenants/demo/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "other.event", data: {} }),
      });
      expect(res.status).toBe(201);
      const running = await migrate(["--from", file, "--to", url]);
      expect(running.code).toBe(1);
      expect(running.stderr).toContain("a Switchboard node is running on the target database: stop every node");
    } finally {
      await other.close();
    }
    const foreign = await migrate(["--from", file, "--to", url]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/the target database already holds events that are not this file's \(its event 1, other.event of tenant "demo"/);
    expect(await query<{ type: string }>(url, "SELECT type FROM events")).toEqual([{ type: "other.event" }]);

    const missing = await migrate(["--from", join(dir, "nothing.db"), "--to", url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no SQLite file at");
  });
});
