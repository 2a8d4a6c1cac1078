import { resolve } from "node:path";
import { getTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewEvent } from "../src/event.js";
import { createDomains } from "../src/domain/index.js";
import { createProjector } from "../src/domain/projections.js";
import { createLogger } from "../src/logger.js";
import { openDb, type Db } from "../src/store/db.js";
import { AppendRejected } from "../src/store/event-log.js";
import { PostgresLog } from "../src/store/postgres-log.js";
import { postgresTables } from "../src/store/postgres-schema.js";
import { SqliteWriter } from "../src/store/sqlite-writer.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";

const logger = createLogger("error");

/** One publish request: what a producer sends, before the server validates it. */
interface Request {
  tenant?: string;
  /** The workers the publishing key is bound to. */
  workers?: string[];
  events: { type: string; subject: string; data: Record<string, unknown> }[];
}

const e = (type: string, subject: string, data: Record<string, unknown> = {}) => ({ type, subject, data });

/**
 * Every domain's life, with the requests their rules refuse (409, 403) among
 * those they accept: calls, agents, channels, workflows with their controls,
 * chat with streamed answers and tool runs.
 */
const SCRIPT: Request[] = [
  { events: [e("call.started", "c1", { direction: "inbound", number: "+14155550142", agent: "w1" })] },
  { events: [e("call.analyzed", "c1", { summary: "Asked for a refund", sentiment: "negative" })] },
  { events: [e("call.ended", "c1", { duration_ms: 61_000, status: "completed" })] },
  { events: [e("call.started", "c1", { direction: "inbound", number: "+14155550142" })] },
  { events: [e("call.ended", "c2", { duration_ms: 5_000, direction: "outbound", number: "+14155550199" })] },
  { events: [e("agent.connected", "w1")] },
  { events: [e("agent.status", "w1", { status: "busy", name: "Runner one", capabilities: ["refunds"], execution_id: "wf1" })] },
  { workers: ["w2"], events: [e("agent.status", "w1", { status: "available" })] },
  { events: [e("agent.disconnected", "w2", { reason: "gone" })] },
  { events: [e("workflow.started", "wf1", { name: "Refund", stages: ["check", "pay"], worker: "w1" })] },
  { events: [e("workflow.progress", "wf1", { progress: 0.5, stage: "pay", task: "paying" })] },
  { events: [e("workflow.started", "wf1", { name: "Again", stages: ["x"], worker: "w1" })] },
  { events: [e("workflow.control_requested", "wf1", { action: "pause", worker: "w1" })] },
  { events: [e("workflow.control_requested", "wf1", { action: "cancel", worker: "w1" })] },
  { events: [e("workflow.paused", "wf1")] },
  { events: [e("workflow.progress", "wf1", { progress: 0.6 })] },
  { events: [e("workflow.started", "wf2", { name: "Other", stages: ["a"], worker: "w2" }), e("workflow.failed", "wf2", { reason: "timeout", retryable: true })] },
  { workers: ["w1"], events: [e("workflow.started", "wf3", { name: "Bound", stages: ["a"], worker: "w2" })] },
  { events: [e("channel.connect_requested", "ch1", { platform: "slack", name: "Support", settings: { team: "T1" }, worker: "conn-1" })] },
  { events: [e("channel.progress", "ch1", { step: 1, total: 2, label: "Authorizing" })] },
  { events: [e("channel.connected", "ch1")] },
  { events: [e("channel.removed", "ch1")] },
  { events: [e("channel.disconnected", "ch1", { reason: "closed" })] },
  { events: [e("channel.removed", "ch1")] },
  { events: [e("chat.session_started", "s1", { agent: "w1", title: "Refund" })] },
  { events: [e("chat.message", "s1", { message_id: "m1", text: "Where is my refund?", worker: "w1" })] },
  { events: [e("chat.delta", "s1", { message_id: "a1", reply_to: "m1", seq: 0, text: "It is " })] },
  { events: [e("chat.delta", "s1", { message_id: "a1", seq: 1, text: "on its way." })] },
  { events: [e("chat.delta", "s1", { message_id: "a1", seq: 1, text: "repeated" })] },
  { events: [e("tool.started", "t1", { session_id: "s1", message_id: "a1", name: "lookup" })] },
  { events: [e("tool.progress", "t1", { progress: 0.5, output: "found " })] },
  { events: [e("tool.completed", "t1", { output: "order 42" })] },
  { events: [e("chat.completed", "s1", { message_id: "a1" })] },
  { events: [e("chat.delta", "s1", { message_id: "a1", seq: 2, text: "late" })] },
  { events: [e("chat.message", "s2", { message_id: "m2", text: "Hello", agent: "w9", worker: "w9" })] },
];

/**
 * One set of domain rules and projections serves both databases: the same
 * requests, appended to SQLite by its writer and to PostgreSQL by a node's
 * log, are accepted or refused alike, and leave every table the same.
 */
describe("the domains on PostgreSQL", () => {
  let cluster: PostgresCluster;
  let pool: pg.Pool;
  let log: PostgresLog;
  const lite = openDb(":memory:");
  // The same clock on both sides: each commit is stamped one second after the last.
  const clock = (() => {
    let t = Date.UTC(2026, 10, 29, 12);
    return () => (t += 1000);
  })();
  const pgClock = (() => {
    let t = Date.UTC(2026, 10, 29, 12);
    return () => (t += 1000);
  })();

  beforeAll(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    pool = new pg.Pool({ connectionString: url });
    await migrate(drizzle(pool), { migrationsFolder: resolve("drizzle/postgres") });
    log = await PostgresLog.open({ url, logger, hooks: [createProjector()], clock: pgClock });
  });

  afterAll(async () => {
    await log?.stop();
    await pool?.end();
    await cluster?.stop();
    lite.$client.close();
  });

  it("accepts and refuses the same requests, and leaves every table the same", async () => {
    const domains = createDomains({ db: lite, log: undefined as never, logger, commandTimeoutMs: 60_000 });
    // Presence events are Switchboard's own (no producer may publish them): they go in as they are.
    const internal = new Set(domains.list.flatMap((d) => Object.entries(d.types).filter(([, spec]) => spec.internal).map(([type]) => type)));
    const project = createProjector();
    const writer = new SqliteWriter(lite.$client, [(event, index, request) => project(lite, event, index, request)], { clock });
    const outcomes: string[] = [];
    let seq = 0;
    for (const request of SCRIPT) {
      const tenant = request.tenant ?? "acme";
      const events: NewEvent[] = request.events.map((ev) => {
        const normalized = internal.has(ev.type) ? { ok: true as const, data: ev.data } : domains.normalize(ev.type, ev.subject, ev.data);
        if (!normalized.ok) throw new Error(`${ev.type}: ${normalized.reason}`);
        return { type: ev.type, subject: ev.subject, data: JSON.stringify(normalized.data), key: null };
      });
      const workers = request.workers ?? null;
      const { outcomes: [sqlite] } = await writer.commit([{ seq: ++seq, tenant, workers, events }]);
      const postgres = await log.append(tenant, events, { workers }).catch((err: unknown) => {
        if (err instanceof AppendRejected) return err;
        throw err;
      });
      const said = (o: typeof sqlite | typeof postgres) =>
        o instanceof AppendRejected ? `${o.status} ${o.message}` : "rejected" in o ? `${o.rejected.status} ${o.rejected.message}` : `ids ${o.ids.join(",")}`;
      expect(said(postgres), `${request.events[0].type} of ${request.events[0].subject}`).toBe(said(sqlite));
      outcomes.push(said(sqlite).split(" ")[0]);
    }
    // The script does exercise the rules: refusals of both kinds among the accepted requests.
    expect(outcomes).toContain("409");
    expect(outcomes).toContain("403");
    expect(outcomes.filter((o) => o === "ids").length).toBeGreaterThan(20);

    const pgDb = drizzle(pool) as unknown as Db;
    for (const table of postgresTables.keys()) {
      const name = getTableConfig(table).name;
      const rows = async (db: Db) => (await db.select().from(table as SQLiteTable)).map((r) => JSON.stringify(r)).sort();
      expect(await rows(pgDb), name).toEqual(await rows(lite));
    }
  });
});
