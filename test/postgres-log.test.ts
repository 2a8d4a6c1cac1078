import { resolve } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NewEvent, StoredEvent } from "../src/event.js";
import { createLogger } from "../src/logger.js";
import { PostgresLog, type PostgresAppendHook } from "../src/store/postgres-log.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";

const logger = createLogger("error");
const event = (type = "test.happened", key: string | null = null): NewEvent => ({ type, subject: null, data: "{}", key, fingerprint: key && `fp-${key}` });

/** A node: one PostgresLog, and every event its listeners were given, in order. */
interface Node {
  log: PostgresLog;
  delivered: StoredEvent[];
}

describe("the log on PostgreSQL, shared by several nodes", () => {
  let cluster: PostgresCluster;
  let url: string;
  let admin: pg.Client;
  const nodes: Node[] = [];

  beforeAll(async () => {
    cluster = await startPostgres();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /** A fresh database per test: ids start at 1 and nothing is shared between tests. */
  async function freshDatabase(): Promise<void> {
    url = await cluster.createDatabase();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await migrate(drizzle(admin), { migrationsFolder: resolve("drizzle/postgres") });
  }

  async function node(hooks: PostgresAppendHook[] = []): Promise<Node> {
    const log = await PostgresLog.open({ url, logger, hooks, pollMs: 200 });
    const n: Node = { log, delivered: [] };
    log.onCommit((events) => {
      n.delivered.push(...events);
    });
    nodes.push(n);
    return n;
  }

  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.log.stop();
    await admin?.end();
  });

  const allIds = async (): Promise<number[]> => (await admin.query<{ id: number }>("SELECT id FROM events ORDER BY id")).rows.map((r) => r.id);

  it("makes ids visible in the order they were handed out: a writer holding id N keeps N+1 from committing before it", async () => {
    await freshDatabase();
    let entered!: () => void;
    const holding = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // Node A's transaction stops after inserting its event (a projection that takes its time), holding its id.
    const a = await node([
      async (_db, e) => {
        if (e.type !== "test.slow") return;
        entered();
        await gate;
      },
    ]);
    const b = await node();
    const c = await node();

    const first = a.log.append("acme", [event("test.slow")]);
    await holding;
    let secondDone = false;
    const second = b.log.append("acme", [event()]).finally(() => (secondDone = true));
    // B is now either waiting for A's lock (the guard) or, without the guard, committing past A.
    await expect
      .poll(async () => {
        if (secondDone) return "committed";
        const { rows } = await admin.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        return rows.length > 0 ? "waiting" : "neither";
      })
      .not.toBe("neither");
    // What a resuming reader sees meanwhile: never B's event without A's.
    const meanwhile = await c.log.read({ tenant: "acme", after: 0, limit: 10 });
    release();
    const [ra, rb] = await Promise.all([first, second]);

    expect(meanwhile.map((e) => e.id)).toEqual([]);
    expect(rb.ids[0]).toBeGreaterThan(ra.ids[0]);
    // Every node delivers both, once each, in id order.
    for (const n of [a, b, c]) {
      await expect.poll(() => n.delivered.length).toBe(2);
      expect(n.delivered.map((e) => e.id)).toEqual([ra.ids[0], rb.ids[0]]);
    }
  });

  it("gives readers resuming constantly every event once, in order, while three nodes append at once", async () => {
    await freshDatabase();
    const all = [await node(), await node(), await node()];
    const APPENDS = 60;
    let writing = true;
    const readers = all.map(async (n) => {
      const seen: number[] = [];
      let after = 0;
      for (;;) {
        const done = !writing;
        const page = await n.log.read({ tenant: null, after, limit: 7 });
        for (const e of page) seen.push(e.id);
        if (page.length > 0) after = page[page.length - 1].id;
        else if (done) return seen;
      }
    });
    const writers = all.flatMap((n) =>
      [0, 1, 2, 3].map(async (w) => {
        for (let i = 0; i < APPENDS; i++) await n.log.append(`t${w}`, i % 5 === 0 ? [event(), event(), event()] : [event()]);
      }),
    );
    await Promise.all(writers);
    writing = false;
    const seen = await Promise.all(readers);

    const ids = await allIds();
    expect(ids.length).toBe(3 * 4 * (APPENDS + 2 * (APPENDS / 5)));
    for (const s of seen) expect(s).toEqual(ids);
    for (const n of all) {
      await expect.poll(() => n.delivered.length).toBe(ids.length);
      expect(n.delivered.map((e) => e.id)).toEqual(ids);
    }
  });

  it("keeps an idempotency key unique per tenant across nodes", async () => {
    await freshDatabase();
    const [a, b] = [await node(), await node()];
    const results = await Promise.all([a.log.append("acme", [event("test.keyed", "k1")]), b.log.append("acme", [event("test.keyed", "k1")])]);
    expect(results[0].ids).toEqual(results[1].ids);
    expect(results.map((r) => r.appended.length).sort()).toEqual([0, 1]);
    expect(await allIds()).toHaveLength(1);
  });

  it("stores every character COPY's text format escapes as sent, on the plain path and the keyed one", async () => {
    await freshDatabase();
    const n = await node();
    // Written as COPY text (see insertEvents): backslashes, tabs, newlines and carriage returns are escaped,
    // and "\N" is NULL only as a whole unescaped field.
    const tricky = ["\\N", "a\tb", "line\nnext\r\n", "back\\slash \\\\ \\t", "\\"];
    const sent: NewEvent[] = tricky.flatMap((s, i) => [
      { type: "test.plain", subject: s, data: JSON.stringify({ s }), key: null },
      { type: "test.keyed", subject: s, data: JSON.stringify({ s, i }), key: `${s}-${i}`, fingerprint: `fp\t${i}` },
    ]);
    const log = await PostgresLog.open({ url, logger, pollMs: 200, plain: (type) => type === "test.plain" });
    nodes.push({ log, delivered: [] });
    await log.append("acme", sent);
    await n.log.append("acme", [event()]);
    const { rows } = await admin.query<{ subject: string; data: string; key: string | null; fp: string | null }>(
      "SELECT subject, data, key, key_fingerprint AS fp FROM events WHERE type <> 'test.happened' ORDER BY id",
    );
    expect(rows).toEqual(sent.map((e) => ({ subject: e.subject, data: e.data, key: e.key, fp: e.fingerprint ?? null })));
  });

  it("catches up after losing its connection: a missed notification costs latency, never an event", async () => {
    await freshDatabase();
    const [a, b] = [await node(), await node()];
    await a.log.append("acme", [event()]);
    await expect.poll(() => b.delivered.length).toBe(1);
    // Cut B's listening connection (as a network failure or a database restart would).
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN switchboard_log'");
    await expect.poll(() => b.log.ready()).toBe(false);
    const more = await a.log.append("acme", [event(), event()]);
    await expect.poll(() => b.log.ready()).toBe(true);
    await expect.poll(() => b.delivered.map((e) => e.id)).toEqual([1, ...more.ids]);
  });
});
