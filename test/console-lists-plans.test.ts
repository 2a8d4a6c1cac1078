import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentCounts, agentPage } from "../src/domain/agents/list.js";
import { channelCounts, channelPage } from "../src/domain/channels/list.js";
import { topicsPage } from "../src/domain/mercure/queries.js";
import { workflowCounts, workflowPage } from "../src/domain/workflows/list.js";
import { openDb, type Db } from "../src/store/db.js";
import * as schema from "../src/store/schema.js";
import { SqliteSubjectHistory } from "../src/store/subject-history.js";

/**
 * Every query of the workflows, channels, agents and Mercure topics lists, and of a
 * workflow's history, reads through an index, on the real migrated
 * database: asked of SQLite itself (EXPLAIN QUERY PLAN) for the statements
 * the list functions actually run, never a full SCAN of a table. A search
 * (`q`, a LIKE with a leading wildcard) filters rows of the same index
 * range as it reads them: still a SEARCH of the tenant's range, never the table.
 */

interface Ran {
  sql: string;
  args: unknown[];
}

/** A connection whose statements are recorded with their arguments as they run. */
function recording(sqlite: Database.Database, ran: Ran[]): Database.Database {
  return new Proxy(sqlite, {
    get(target, prop) {
      if (prop !== "prepare") return Reflect.get(target, prop, target);
      return (sql: string) => {
        const stmt = target.prepare(sql);
        const recorded: Database.Statement = new Proxy(stmt, {
          get(s, p) {
            const value = Reflect.get(s, p, s);
            if (typeof value !== "function") return value;
            if (p === "all" || p === "get" || p === "run" || p === "values") return (...args: unknown[]) => (ran.push({ sql, args }), value.apply(s, args));
            // raw() returns its statement, for chaining: keep recording through it.
            if (p === "raw") return (...args: unknown[]) => (value.apply(s, args), recorded);
            return value.bind(s);
          },
        });
        return recorded;
      };
    },
  });
}

describe("the lists read through indexes", () => {
  let dir: string;
  let db: Db;
  let recorded: Db;
  const ran: Ran[] = [];
  /** A workflow's history as SQLite reads it, on the recording connection. */
  const history = () => new SqliteSubjectHistory(recorded.$client);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-plans-"));
    db = openDb(join(dir, "plans.db"));
    const sqlite = db.$client;
    // Enough rows in two tenants that a plan has something to choose between.
    const wf = sqlite.prepare("INSERT INTO workflows (tenant, workflow_id, name, state, started_at, updated_at, state_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    const ch = sqlite.prepare("INSERT INTO channels (tenant, channel_id, platform, name, state, created_at, updated_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    const ag = sqlite.prepare("INSERT INTO agents (tenant, agent_id, name, status, updated_at, event_id) VALUES (?, ?, ?, ?, ?, ?)");
    const ev = sqlite.prepare("INSERT INTO events (tenant, type, subject, data, ts) VALUES (?, ?, ?, '{}', ?)");
    const mt = sqlite.prepare(
      "INSERT INTO mercure_topics (tenant, topic_hash, topic, updates, last_event_id, last_update_id, last_private, last_published_at) VALUES (?, ?, ?, 1, ?, ?, 0, ?)",
    );
    sqlite.transaction(() => {
      for (let i = 0; i < 3000; i++) {
        const tenant = i % 3 === 0 ? "other" : "demo";
        wf.run(tenant, `wf-${i}`, `Job ${i}`, ["running", "paused", "completed", "failed", "cancelled"][i % 5], i, i, i, i + 1);
        if (i < 600) ch.run(tenant, `ch-${i}`, "slack", `Line ${i}`, ["connecting", "connected", "failed", "disconnected"][i % 4], i, i, i + 1);
        if (i < 600) ag.run(tenant, `a-${i}`, `Agent ${i}`, ["available", "busy", "error", "disconnected"][i % 4], i, i + 1);
        if (i < 600) mt.run(tenant, `h-${i}`, `urn:topic:${i}`, i + 1, `u-${i}`, i);
        ev.run(tenant, i % 2 ? "workflow.progress" : "agent.status", `wf-${i % 7}`, i);
      }
    })();
    // The counts the projection keeps, for the rows put in by hand here.
    sqlite.prepare("INSERT INTO workflow_state_counts (tenant, state, count) SELECT tenant, state, count(*) FROM workflows GROUP BY tenant, state").run();
    recorded = drizzle(recording(sqlite, ran), { schema }) as unknown as Db;
  });
  afterAll(() => {
    db?.$client.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The plan lines of every statement `read` runs. */
  function plans(read: () => unknown): string[][] {
    ran.length = 0;
    read();
    expect(ran.length).toBeGreaterThan(0);
    return ran.map((r) => (db.$client.prepare(`EXPLAIN QUERY PLAN ${r.sql}`).all(...(r.args as unknown[])) as { detail: string }[]).map((p) => p.detail));
  }

  const cursor = { at: 1500, id: "wf-1500" };
  const cases: [string, () => unknown, RegExp][] = [
    ["workflows: first page", () => workflowPage(recorded, "demo", { state: null, q: null, before: null }), /workflows_tenant_state_at_idx \(tenant=\?\)/],
    ["workflows: a deep page seeks to its cursor", () => workflowPage(recorded, "demo", { state: null, q: null, before: cursor }), /workflows_tenant_state_at_idx \(tenant=\? AND \(state_at,workflow_id\)<\(\?,\?\)\)/],
    ["workflows: a tab", () => workflowPage(recorded, "demo", { state: "failed", q: null, before: null }), /workflows_tenant_state_state_at_idx \(tenant=\? AND state=\?\)/],
    ["workflows: a tab's deep page", () => workflowPage(recorded, "demo", { state: "failed", q: null, before: cursor }), /workflows_tenant_state_state_at_idx \(tenant=\? AND state=\? AND \(state_at,workflow_id\)<\(\?,\?\)\)/],
    ["workflows: a search in a tab", () => workflowPage(recorded, "demo", { state: "running", q: "Job 1_%", before: null }), /workflows_tenant_state_state_at_idx \(tenant=\? AND state=\?\)/],
    ["workflows: the tabs' counts", () => workflowCounts(recorded, "demo"), /workflow_state_counts USING INDEX sqlite_autoindex_workflow_state_counts_1 \(tenant=\?\)/],
    ["channels: first page", () => channelPage(recorded, "demo", { state: null, q: null, before: null }), /channels_tenant_created_idx \(tenant=\?\)/],
    ["channels: a state's deep page", () => channelPage(recorded, "demo", { state: "failed", q: null, before: { at: 300, id: "ch-300" } }), /channels_tenant_state_created_idx \(tenant=\? AND state=\? AND \(created_at,channel_id\)<\(\?,\?\)\)/],
    ["channels: a search", () => channelPage(recorded, "demo", { state: null, q: "slack", before: null }), /channels_tenant_created_idx \(tenant=\?\)/],
    ["channels: the counts", () => channelCounts(recorded, "demo"), /COVERING INDEX channels_tenant_state_created_idx \(tenant=\?\)/],
    ["agents: first page", () => agentPage(recorded, "demo", { status: null, q: null, after: null }), /agents_tenant_name_idx \(tenant=\?\)/],
    ["agents: a status's later page", () => agentPage(recorded, "demo", { status: "busy", q: null, after: "a-101" }), /agents_tenant_status_name_idx \(tenant=\? AND status=\? AND \(name,agent_id\)>\(\?,\?\)\)/],
    ["agents: a search", () => agentPage(recorded, "demo", { status: null, q: "agent 4", after: null }), /agents_tenant_name_idx \(tenant=\?\)/],
    ["agents: the counts", () => agentCounts(recorded, "demo"), /COVERING INDEX agents_tenant_status_name_idx \(tenant=\?\)/],
    ["Mercure topics: first page", () => topicsPage(recorded, "demo", null), /mercure_topics_tenant_published_idx \(tenant=\?\)/],
    ["Mercure topics: a deep page", () => topicsPage(recorded, "demo", { at: 300, id: "301" }), /mercure_topics_tenant_published_idx \(tenant=\? AND \(last_published_at,last_event_id\)<\(\?,\?\)\)/],
    // The page a workflow's history shows on SQLite (the newest is the page below the head).
    ["a workflow's history", () => history().read({ tenant: "demo", subject: "wf-3", topic: "workflow", before: 3001, limit: 51 }), /events_tenant_subject_id_idx \(tenant=\? AND subject=\? AND id<\?\)/],
    ["a workflow's older history", () => history().read({ tenant: "demo", subject: "wf-3", topic: "workflow", before: 2000, limit: 51 }), /events_tenant_subject_id_idx \(tenant=\? AND subject=\? AND id<\?\)/],
  ];

  for (const [what, read, index] of cases) {
    it(`${what}: an index, never a scan or a sort`, () => {
      const lines = plans(read);
      const listQuery = lines[lines.length - 1];
      expect(listQuery.join("\n"), `${what}: ${listQuery.join("; ")}`).toMatch(index);
      for (const plan of lines) {
        expect(plan.some((l) => /^SCAN /.test(l)), `${what}: ${plan.join("; ")}`).toBe(false);
        // Newest first straight from the index: no sorting of a whole range.
        expect(plan.some((l) => /USE TEMP B-TREE/.test(l)), `${what}: ${plan.join("; ")}`).toBe(false);
      }
    });
  }

  it("pages and counts are what the rows say", () => {
    // What was inserted: demo's failed workflows, newest state first.
    const failed = Array.from({ length: 3000 }, (_, i) => 2999 - i).filter((i) => i % 3 !== 0 && i % 5 === 3).map((i) => `wf-${i}`);
    const first = workflowPage(db, "demo", { state: "failed", q: null, before: null }, 5);
    expect(first.rows.map((w) => w.workflowId)).toEqual(failed.slice(0, 5));
    const next = workflowPage(db, "demo", { state: "failed", q: null, before: first.older }, 5);
    expect(next.rows.map((w) => w.workflowId)).toEqual(failed.slice(5, 10));
    expect(workflowCounts(db, "demo")).toEqual({ running: 400, paused: 400, completed: 400, failed: 400, cancelled: 400 });
    // The search takes its wildcards literally.
    expect(workflowPage(db, "demo", { state: null, q: "_", before: null }).rows).toEqual([]);
    const named = Array.from({ length: 3000 }, (_, i) => 2999 - i).filter((i) => i % 3 !== 0 && `Job ${i}`.includes("Job 299")).map((i) => `wf-${i}`);
    expect(named.length).toBeGreaterThan(5);
    expect(workflowPage(db, "demo", { state: null, q: "job 299", before: null }).rows.map((w) => w.workflowId)).toEqual(named);
    const agents = agentPage(db, "demo", { status: null, q: null, after: null }, 3);
    expect(agents.rows.map((a) => a.agentId)).toEqual(["a-1", "a-10", "a-100"]);
    expect(agentPage(db, "demo", { status: null, q: null, after: agents.next }, 2).rows.map((a) => a.agentId)).toEqual(["a-101", "a-103"]);
  });
});
