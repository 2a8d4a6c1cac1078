import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliOn } from "../src/cli.js";
import { createLogger } from "../src/logger.js";
import type { EventLog } from "../src/store/event-log.js";
import { PostgresEventLog } from "../src/store/postgres-event-log.js";
import { TurnBudget } from "../src/turn-budget.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";
import { openSqliteLog } from "./support/sqlite-log.js";

/**
 * After a burst the server asks the log's threads for a full collection
 * each, one thread after the other (see EventLog.collectGarbage): each
 * thread answers when it is done, and the next is asked only then. A thread
 * that did not answer would leave the release waiting for ever; one that
 * stopped working after collecting would stop the log.
 */
async function collectsAndGoesOn(log: EventLog): Promise<void> {
  const before = await log.append("demo", [{ type: "gc.before", subject: null, data: "{}", key: null, fingerprint: null }]);
  // Two releases close together (a burst's release and its follow-up): both are answered.
  await Promise.all([log.collectGarbage(), log.collectGarbage()]);
  const after = await log.append("demo", [{ type: "gc.after", subject: null, data: "{}", key: null, fingerprint: null }]);
  expect(after.ids[0]).toBeGreaterThan(before.ids[0]);
  const page = await log.read({ tenant: "demo", after: 0, limit: 10, types: [] });
  expect(page.events.map((e) => e.type)).toEqual(["gc.before", "gc.after"]);
}

describe("the log's threads collect their memory when asked", () => {
  it("on SQLite: the writer, then each reader", async () => {
    const own = await openSqliteLog(["demo"]);
    try {
      await collectsAndGoesOn(own.log);
    } finally {
      await own.dispose();
    }
  });

  describe("on PostgreSQL: the replica's writer", () => {
    let cluster: PostgresCluster;
    beforeAll(async () => {
      cluster = await startPostgres();
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    it("collects and goes on", async () => {
      const url = await cluster.createDatabase();
      const log = await PostgresEventLog.open({ url, logger: createLogger("error"), turn: new TurnBudget() });
      try {
        await runCliOn(["tenants", "create", "demo"], url);
        await collectsAndGoesOn(log);
      } finally {
        await log.stop();
      }
    });
  });
});
