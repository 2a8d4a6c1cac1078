/**
 * The workflows, channels and agents lists on a large tenant: seeds one
 * tenant (and a neighbour of the same size) directly through the store
 * with WORKFLOWS workflows, CHANNELS channels, AGENTS agents and EVENTS
 * events (the workflows' history), on the real migrated schema, then times
 * each query a list page runs: the first page, a deep page (by keyset),
 * each tab's first page, the tabs' counts, a search, and a workflow's
 * history. Median and max of RUNS runs each, in milliseconds, in this
 * process (the queries run on the main thread's connection, as the server's do).
 *
 *   npx tsx bench/console-lists-workflows.ts
 *   WORKFLOWS=50000 EVENTS=200000 npx tsx bench/console-lists-workflows.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { agentCounts, agentPage } from "../src/domain/agents/list.js";
import { channelCounts, channelPage } from "../src/domain/channels/list.js";
import { HISTORY_PAGE } from "../src/domain/workflows/history.js";
import { workflowCounts, workflowPage } from "../src/domain/workflows/list.js";
import { WORKFLOW_STATES } from "../src/domain/workflows/schema.js";
import { openDb } from "../src/store/db.js";
import { SqliteSubjectHistory } from "../src/store/subject-history.js";

const WORKFLOWS = Number(process.env.WORKFLOWS ?? 200_000);
const CHANNELS = Number(process.env.CHANNELS ?? 5_000);
const AGENTS = Number(process.env.AGENTS ?? 2_000);
const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 50);
const TENANTS = ["demo", "neighbour"];

/** Most finished, some running, few paused: as a tenant's workflows are after months. */
const stateOf = (i: number) => (i % 100 < 70 ? "completed" : i % 100 < 85 ? "failed" : i % 100 < 92 ? "cancelled" : i % 100 < 98 ? "running" : "paused");

function seed(db: ReturnType<typeof openDb>): void {
  const sqlite = db.$client;
  const wf = sqlite.prepare(
    "INSERT INTO workflows (tenant, workflow_id, name, stages, state, worker, started_at, updated_at, state_at, event_id) VALUES (?, ?, ?, '[\"a\",\"b\"]', ?, 'runner-1', ?, ?, ?, ?)",
  );
  const ch = sqlite.prepare("INSERT INTO channels (tenant, channel_id, platform, name, state, created_at, updated_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  const ag = sqlite.prepare("INSERT INTO agents (tenant, agent_id, name, status, capabilities, updated_at, event_id) VALUES (?, ?, ?, ?, '[\"voice\"]', ?, ?)");
  const ev = sqlite.prepare("INSERT INTO events (tenant, type, subject, data, ts) VALUES (?, ?, ?, ?, ?)");
  const t0 = Date.now() - 90 * 86_400_000;
  for (const tenant of TENANTS) {
    sqlite.transaction(() => {
      for (let i = 0; i < WORKFLOWS; i++) {
        const at = t0 + i * 30_000;
        wf.run(tenant, `wf-${i}`, `Nightly billing run ${i}`, stateOf(i), at, at + 60_000, at + 60_000, i + 1);
      }
      for (let i = 0; i < CHANNELS; i++) ch.run(tenant, `ch-${i}`, ["whatsapp", "slack", "sms"][i % 3], `Line ${i}`, ["connected", "failed", "disconnected", "connecting"][i % 4], t0 + i * 1000, t0, i + 1);
      for (let i = 0; i < AGENTS; i++) ag.run(tenant, `agent-${i}`, `Agent ${String(i).padStart(5, "0")}`, ["available", "busy", "error", "disconnected"][i % 4], t0, i + 1);
    })();
  }
  // The tabs' counts the projection keeps, for the rows put in by hand here.
  sqlite.prepare("INSERT INTO workflow_state_counts (tenant, state, count) SELECT tenant, state, count(*) FROM workflows GROUP BY tenant, state").run();
  // The log: progress of many workflows, and one long-running workflow with a long history among them.
  const BATCH = 50_000;
  for (let done = 0; done < EVENTS; done += BATCH) {
    sqlite.transaction(() => {
      for (let i = done; i < Math.min(EVENTS, done + BATCH); i++) {
        const subject = i % 50 === 0 ? "wf-long" : `wf-${i % WORKFLOWS}`;
        ev.run(TENANTS[i % 2], "workflow.progress", subject, `{"progress":${(i % 100) / 100},"task":"item ${i}"}`, t0 + i);
      }
    })();
  }
}

function time(what: string, fn: () => unknown): void {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  ms.sort((a, b) => a - b);
  console.log(`| ${what} | ${ms[Math.floor(ms.length / 2)].toFixed(2)} | ${ms[ms.length - 1].toFixed(2)} |`);
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-lists-"));
  try {
    const db = openDb(join(dir, "sb.db"), { durability: "normal" });
    const started = Date.now();
    seed(db);
    console.log(`seeded ${TENANTS.length} tenants × ${WORKFLOWS} workflows, ${CHANNELS} channels, ${AGENTS} agents; ${EVENTS} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, ${RUNS} runs each\n`);
    console.log("| query (tenant demo) | median ms | max ms |\n| --- | --- | --- |");
    const all = { state: null, q: null, before: null };
    time("workflows: first page (50)", () => workflowPage(db, "demo", all));
    // A page 2,000 pages deep: where the keyset seeks to, whatever the depth.
    const deepAt = WORKFLOWS / 2;
    const deep = { at: Date.now() - 90 * 86_400_000 + deepAt * 30_000 + 60_000, id: `wf-${deepAt}` };
    time(`workflows: a deep page (after ${WORKFLOWS - deepAt} newer)`, () => workflowPage(db, "demo", { ...all, before: deep }));
    for (const state of WORKFLOW_STATES) time(`workflows: tab ${state}, first page`, () => workflowPage(db, "demo", { ...all, state }));
    time("workflows: the tabs' counts (all states)", () => workflowCounts(db, "demo"));
    time('workflows: search "run 19999" (first page)', () => workflowPage(db, "demo", { ...all, q: "run 19999" }));
    time('workflows: search matching nothing ("zzz", whole range)', () => workflowPage(db, "demo", { ...all, q: "zzz" }));
    // The statement a workflow's history page runs on SQLite (its page and the one after it).
    const history = new SqliteSubjectHistory(db.$client);
    const historyPage = (before: number) => history.read({ tenant: "demo", subject: "wf-long", topic: "workflow", before, limit: HISTORY_PAGE + 1 });
    time("workflow history: newest 50 of wf-long", () => historyPage(Number.MAX_SAFE_INTEGER));
    time("workflow history: 50 of wf-long, half way back", () => historyPage(EVENTS / 2));
    time("channels: first page", () => channelPage(db, "demo", { state: null, q: null, before: null }));
    time("channels: state failed, deep page", () => channelPage(db, "demo", { state: "failed", q: null, before: { at: Date.now() - 90 * 86_400_000 + 1000 * 1000, id: "ch-1000" } }));
    time("channels: counts", () => channelCounts(db, "demo"));
    time('channels: search "line 4"', () => channelPage(db, "demo", { state: null, q: "line 4", before: null }));
    time("agents: first page", () => agentPage(db, "demo", { status: null, q: null, after: null }));
    time("agents: status busy, from agent-1001", () => agentPage(db, "demo", { status: "busy", q: null, after: "agent-1001" }));
    time("agents: counts", () => agentCounts(db, "demo"));
    time('agents: search "00123"', () => agentPage(db, "demo", { status: null, q: "00123", after: null }));
    db.$client.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
