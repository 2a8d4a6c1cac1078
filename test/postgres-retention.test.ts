import { resolve } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewEvent } from "../src/event.js";
import { createLogger } from "../src/logger.js";
import { openDb } from "../src/store/db.js";
import { PostgresLog } from "../src/store/postgres-log.js";
import { PostgresPruner } from "../src/store/postgres-pruner.js";
import { Retention, SqlitePruner } from "../src/store/retention.js";
import { SqliteWriter } from "../src/store/sqlite-writer.js";
import { seeded } from "./support/random.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";

const TENANTS = ["acme", "beta", "gamma"];
const T0 = Date.UTC(2026, 10, 29, 12);

/** Retention on PostgreSQL prunes what it prunes on SQLite, leaving the same events, type summary and pruned marks. */
describe("retention on PostgreSQL", () => {
  let cluster: PostgresCluster;
  let pool: pg.Pool;
  const lite = openDb(":memory:").$client;

  beforeAll(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    pool = new pg.Pool({ connectionString: url });
    await migrate(drizzle(pool), { migrationsFolder: resolve("drizzle/postgres") });
    for (const t of TENANTS) {
      lite.prepare("INSERT INTO tenants (slug, name, created_at) VALUES (?, ?, 0)").run(t, t);
      await pool.query("INSERT INTO tenants (slug, name, created_at) VALUES ($1, $1, 0)", [t]);
    }
    // The same requests on both sides, each commit a minute after the last.
    let liteT = T0;
    let pgT = T0;
    const writer = new SqliteWriter(lite, [], { clock: () => (liteT += 60_000) });
    const log = await PostgresLog.open({ url, logger: createLogger("error"), clock: () => (pgT += 60_000) });
    const random = seeded(11);
    for (let i = 0; i < 60; i++) {
      const tenant = TENANTS[Math.floor(random() * TENANTS.length)];
      const events: NewEvent[] = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
        type: ["a.x", "a.y", "b.z"][Math.floor(random() * 3)],
        subject: null,
        data: "{}",
        key: null,
      }));
      await writer.commit([{ seq: i, tenant, events }]);
      await log.append(tenant, events);
    }
    await log.stop();
  });

  afterAll(async () => {
    lite.close();
    await pool?.end();
    await cluster?.stop();
  });

  async function state() {
    const q = async (text: string) => (await pool.query({ text, rowMode: "array" })).rows;
    return {
      sqlite: {
        events: lite.prepare("SELECT id, tenant FROM events ORDER BY id").raw().all(),
        counts: lite.prepare("SELECT tenant, type, count FROM event_type_counts ORDER BY tenant, type").raw().all(),
        pruned: lite.prepare("SELECT slug, pruned_through FROM tenants ORDER BY slug").raw().all(),
      },
      postgres: {
        events: await q("SELECT id, tenant FROM events ORDER BY id"),
        counts: await q(`SELECT tenant, type, count FROM event_type_counts ORDER BY tenant COLLATE "C", type COLLATE "C"`),
        pruned: await q(`SELECT slug, pruned_through FROM tenants ORDER BY slug COLLATE "C"`),
      },
    };
  }

  it("prunes by count, then by age, in small batches, exactly as SQLite does", async () => {
    const before = await state();
    expect(before.postgres).toEqual(before.sqlite);
    const now = T0 + 61 * 60_000;
    for (const options of [
      { maxEvents: 20, maxAgeMs: 0 },
      { maxEvents: 0, maxAgeMs: 10 * 60_000 },
    ]) {
      const run = (pruner: SqlitePruner | PostgresPruner) => new Retention(pruner, { ...options, intervalMs: 60_000, batchSize: 3, clock: () => now }).runOnce();
      const [onSqlite, onPostgres] = [await run(new SqlitePruner(lite)), await run(new PostgresPruner(pool))];
      expect(onSqlite).toBeGreaterThan(0);
      expect(onPostgres).toBe(onSqlite);
      const after = await state();
      expect(after.postgres).toEqual(after.sqlite);
    }
    const left = (await state()).postgres;
    expect(left.events.length).toBeLessThan(before.postgres.events.length);
    expect(left.pruned.every((row) => Number(row[1]) > 0)).toBe(true);
  });
});
