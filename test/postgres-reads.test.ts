import { resolve } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewEvent } from "../src/event.js";
import { parseTypes } from "../src/hub/type-filter.js";
import { createLogger } from "../src/logger.js";
import { openDb } from "../src/store/db.js";
import type { ReadPage, ReadQuery } from "../src/store/event-log.js";
import { EventReader, type ReadLimits } from "../src/store/event-reads.js";
import { PostgresLog } from "../src/store/postgres-log.js";
import { PostgresReader } from "../src/store/postgres-reads.js";
import { SqliteWriter } from "../src/store/sqlite-writer.js";
import { seeded } from "./support/random.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";

// The page itself: events and where it is complete through (PostgreSQL also reports the tenant's pruned mark).
const withoutTime = (page: ReadPage) => ({ events: page.events.map(({ ts: _ts, ...e }) => e), through: page.through });

const TENANTS = ["acme", "beta", "gamma"];
const TYPES = ["call.started", "call.ended", "call", "agent.status", "agent.status.changed", "a.b.c", "x-y.z_0", "workflow.progress", "calls.x"];
const SUBJECTS = [null, null, "c-1", "c-2", "agent-7", "w"];

/**
 * The same log in both databases, read with the same queries: every page
 * (events and `through`) must be the same, on every path of the plan.
 */
describe("history reads on PostgreSQL", () => {
  let cluster: PostgresCluster;
  let pool: pg.Pool;
  const sqlite = openDb(":memory:").$client;
  let head = 0;

  beforeAll(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    pool = new pg.Pool({ connectionString: url });
    await migrate(drizzle(pool), { migrationsFolder: resolve("drizzle/postgres") });
    const log = await PostgresLog.open({ url, logger: createLogger("error") });
    const writer = new SqliteWriter(sqlite, []);
    const random = seeded(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
    const types = [...TYPES, ...Array.from({ length: 12 }, (_, i) => `many.t${i}`)];
    // One request at a time on each side, so both hand out the same ids.
    for (let done = 0; done < 1500; ) {
      const tenant = pick(TENANTS);
      const size = Math.min(1500 - done, 1 + Math.floor(random() * 40));
      const batch: NewEvent[] = Array.from({ length: size }, () => ({ type: pick(types), subject: pick(SUBJECTS), data: `{"r":${random()}}`, key: null }));
      const { outcomes } = await writer.commit([{ seq: 1, tenant, events: batch }]);
      const mine = await log.append(tenant, batch);
      expect(mine.ids).toEqual((outcomes[0] as { ids: number[] }).ids);
      done += size;
      head = mine.ids.at(-1)!;
    }
    await log.stop();
  });

  afterAll(async () => {
    sqlite.close();
    await pool?.end();
    await cluster?.stop();
  });

  it("returns the page SQLite returns, page after page, on every path", async () => {
    const random = seeded(8);
    const segment = () => ["call", "agent", "status", "*", "c*", "*s", "t*", "many", "a", "b", "x-y", "z_0", "**"][Math.floor(random() * 13)];
    const randomGlob = () => Array.from({ length: 1 + Math.floor(random() * 3) }, segment).join(".");
    const limitsSets: Partial<ReadLimits>[] = [{}, { maxRanges: 2, scanRows: 7 }, { maxTypesExamined: 3, scanRows: 25 }, { maxRanges: 1, maxTypesExamined: 5, scanRows: 3 }];
    let events = 0;
    for (const limits of limitsSets) {
      const lite = new EventReader(sqlite, limits);
      const postgres = new PostgresReader(pool, limits);
      for (let i = 0; i < 25; i++) {
        const q: Omit<ReadQuery, "after"> = {
          tenant: random() < 0.2 ? null : TENANTS[Math.floor(random() * TENANTS.length)],
          types: random() < 0.2 ? [] : parseTypes(Array.from({ length: 1 + Math.floor(random() * 3) }, randomGlob).join(",")),
          subject: random() < 0.5 ? null : SUBJECTS[2 + Math.floor(random() * 4)],
          limit: 1 + Math.floor(random() * 60),
        };
        // Below the head now and then: what a node has not announced yet stays unread.
        const at = random() < 0.2 ? Math.floor(head / 2) : head;
        let after = 0;
        for (let pages = 0; ; pages++) {
          // Each database stamped its own copy with its own clock: all but the time must agree.
          const want = withoutTime(lite.read({ ...q, after }, at));
          const got = withoutTime(await postgres.read({ ...q, after }, at));
          expect(got, `${JSON.stringify(q)} after ${after} with ${JSON.stringify(limits)}`).toEqual(want);
          events += got.events.length;
          if (want.through >= at || pages > 5_000) break;
          after = want.through;
        }
      }
    }
    expect(events).toBeGreaterThan(3_000);
    // Thousands of pages, each a round trip or three: minutes on a loaded two-core machine.
  }, 300_000);
});
