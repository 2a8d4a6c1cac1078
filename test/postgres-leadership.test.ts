import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.js";
import { Leadership, LEADER_LOCK } from "../src/store/leadership.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";

const logger = createLogger("error");

describe("leadership by advisory lock", () => {
  let cluster: PostgresCluster;
  let url: string;
  let admin: pg.Client;

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await cluster?.stop();
  });

  /** A node's leadership and what it was told. */
  function candidate() {
    const told: ("lead" | "lose")[] = [];
    const leadership = Leadership.start({ url, logger, retryMs: 100, onLead: () => told.push("lead"), onLose: () => told.push("lose") });
    return { leadership, told };
  }

  const holders = async () =>
    (await admin.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted", [LEADER_LOCK])).rows.map((r) => r.pid as number);

  it("has one leader among three nodes, and another within seconds when the leader's session ends", async () => {
    const nodes = [candidate(), candidate(), candidate()];
    try {
      await expect.poll(() => nodes.filter((n) => n.leadership.isLeader()).length).toBe(1);
      // Every node has tried by now (each tries at once); still one holder.
      await expect.poll(async () => (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()")).rows[0].n).toBeGreaterThanOrEqual(4);
      expect(await holders()).toHaveLength(1);
      const first = nodes.find((n) => n.leadership.isLeader())!;

      // The leader's connection dies (its node was killed, or cut off from the database).
      await admin.query("SELECT pg_terminate_backend($1)", [(await holders())[0]]);
      await expect.poll(() => first.told).toEqual(["lead", "lose"]);
      await expect.poll(() => nodes.filter((n) => n.leadership.isLeader()).length).toBe(1);
      expect(await holders()).toHaveLength(1);

      // A node that stops gives leadership up for the next.
      const second = nodes.find((n) => n.leadership.isLeader())!;
      await second.leadership.stop();
      expect(second.told.at(-1)).toBe("lose");
      await expect.poll(() => nodes.filter((n) => n !== second && n.leadership.isLeader()).length).toBe(1);
    } finally {
      for (const n of nodes) await n.leadership.stop();
    }
  });
});
