import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { afterEach, describe, expect, it } from "vitest";
import type { NewEvent } from "../src/event.js";
import { openDb } from "../src/store/db.js";
import { AppendRejected } from "../src/store/event-log.js";
import { Retention, SqlitePruner } from "../src/store/retention.js";
import { SqliteWriter } from "../src/store/sqlite-writer.js";
import { TenantStore } from "../src/store/tenants.js";

const event = (type: string, key: string | null = null): NewEvent => ({ type, subject: null, data: "{}", key });

/** The summary, and what counting the log itself gives: they must be equal. */
function summaryAndTruth(sqlite: Database.Database) {
  return {
    summary: sqlite.prepare("SELECT tenant, type, count FROM event_type_counts ORDER BY tenant, type").all(),
    truth: sqlite.prepare("SELECT tenant, type, count(*) AS count FROM events GROUP BY tenant, type ORDER BY tenant, type").all(),
  };
}

describe("event_type_counts", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("counts what commits, leaves out rejected requests and repeats, and follows retention down to removing empty rows", async () => {
    const db = openDb(":memory:");
    const sqlite = db.$client;
    const tenants = new TenantStore(db);
    for (const t of ["acme", "beta"]) tenants.create(t);
    const writer = new SqliteWriter(sqlite, [
      (e) => {
        if (e.type === "bad.one") throw new AppendRejected(400, "refused");
      },
    ]);
    let seq = 0;
    const request = (tenant: string, events: NewEvent[]) => ({ seq: ++seq, tenant, events });

    // One group: these requests commit together, one of them rejected after two of its events were inserted.
    const { outcomes } = await writer.commit([
      request("acme", [event("call.started"), event("call.started", "k1"), event("agent.status")]),
      request("acme", [event("call.started"), event("call.ended"), event("bad.one")]),
      request("beta", [event("call.started"), event("deploy.step")]),
      request("acme", [event("call.started", "k1")]),
    ]);
    const results = outcomes.map((o) => ({ status: "rejected" in o ? "rejected" : "fulfilled" }));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    let { summary, truth } = summaryAndTruth(sqlite);
    expect(summary).toEqual([
      { tenant: "acme", type: "agent.status", count: 1 },
      { tenant: "acme", type: "call.started", count: 2 },
      { tenant: "beta", type: "call.started", count: 1 },
      { tenant: "beta", type: "deploy.step", count: 1 },
    ]);
    expect(summary).toEqual(truth);

    // More groups, then retention keeps the last 5 per tenant, in batches of 2.
    for (let i = 0; i < 6; i++) await writer.commit([request("acme", [event(`gen.t${i % 3}`), event("call.ended")])]);
    await writer.commit([request("beta", [event("deploy.step"), event("deploy.step")])]);
    ({ summary, truth } = summaryAndTruth(sqlite));
    expect(summary).toEqual(truth);
    const retention = new Retention(new SqlitePruner(sqlite), { maxAgeMs: 0, maxEvents: 5, intervalMs: 60_000, batchSize: 2 });
    expect(await retention.runOnce()).toBeGreaterThan(0);
    ({ summary, truth } = summaryAndTruth(sqlite));
    expect(summary).toEqual(truth);
    // Types whose events are all gone are gone from the summary too.
    expect(summary).not.toContainEqual(expect.objectContaining({ tenant: "acme", type: "call.started" }));
    // acme keeps its last 5; beta has only 4.
    expect((summary as { count: number }[]).reduce((n, r) => n + r.count, 0)).toBe(9);
    sqlite.close();
  });

  it("is filled from the events already there when a database is migrated", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-counts-"));
    dirs.push(dir);
    // The migrations as they stood before the summary existed.
    const before = join(dir, "drizzle");
    cpSync(resolve("drizzle/sqlite"), before, { recursive: true });
    const journal = JSON.parse(readFileSync(join(before, "meta/_journal.json"), "utf8"));
    const upTo = journal.entries.findIndex((e: { tag: string }) => e.tag.endsWith("indexed_filters"));
    expect(upTo).toBeGreaterThan(0);
    journal.entries = journal.entries.slice(0, upTo);
    writeFileSync(join(before, "meta/_journal.json"), JSON.stringify(journal));
    const path = join(dir, "old.db");
    const old = new Database(path);
    migrate(drizzle(old), { migrationsFolder: before });
    const insert = old.prepare("INSERT INTO events (tenant, type, subject, data, key, ts) VALUES (?, ?, NULL, '{}', NULL, 0)");
    for (let i = 0; i < 300; i++) insert.run(["acme", "beta"][i % 2], ["call.started", "agent.status", "x.y.z"][i % 3]);
    old.close();

    const db = openDb(path);
    const { summary, truth } = summaryAndTruth(db.$client);
    expect(summary).toHaveLength(6);
    expect(summary).toEqual(truth);
    db.$client.close();
  });
});
