import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChildServer } from "./support/child-server.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";
import { ADMIN_KEY } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

const AUTH = { authorization: `Bearer ${ADMIN_KEY}` };
/** How many events the publishers get acknowledged in all: a third before the kill, the rest after. */
const ACKED = 600;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A client of the tenant's stream that, whenever its connection drops,
 * connects to the next node still up with the last id it saw, as an
 * EventSource behind a load balancer would.
 */
class Follower {
  readonly #done: number[] = [];
  #current: SseClient | null = null;
  #stopped = false;
  /** Connections made: more than one once its node died. */
  connections = 0;
  readonly running: Promise<void>;

  constructor(
    private readonly nodes: () => string[],
    private at: number,
  ) {
    this.running = this.#run();
  }

  /** Every id received, over every connection, in the order received. */
  ids(): number[] {
    return [...this.#done, ...(this.#current?.ids() ?? [])];
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const up = this.nodes();
      const url = up[this.at++ % up.length];
      // From the start of the log the first time, then from the last event seen.
      const last = this.ids().at(-1) ?? 0;
      try {
        const client = await SseClient.open(`${url}/api/v1/tenants/demo/stream`, { ...AUTH, "last-event-id": String(last) });
        this.#current = client;
        this.connections++;
        while (!client.closed && !this.#stopped) await pause(20);
        this.#done.push(...client.ids());
        this.#current = null;
        client.close();
      } catch {
        // That node is down: the next one.
        await pause(20);
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.running;
  }
}

/**
 * Publishes single events in a loop through the nodes still up, each with
 * an idempotency key, retrying a request whose answer was lost (its node
 * died) on another node with the same key: the ids it was acknowledged are
 * the events the log must deliver to every client, exactly once.
 */
async function publisher(nodes: () => string[], name: string, acked: Set<number>, enough: () => boolean): Promise<void> {
  for (let i = 0, at = 0; !enough(); i++) {
    const key = `${name}-${i}`;
    for (;;) {
      const up = nodes();
      const url = up[at++ % up.length];
      try {
        const res = await fetch(`${url}/api/v1/tenants/demo/events`, {
          method: "POST",
          headers: { ...AUTH, "content-type": "application/json", "idempotency-key": key },
          body: JSON.stringify({ type: "load.tick", subject: name, data: { i } }),
        });
        if (res.status === 201 || res.status === 200) {
          const body = (await res.json()) as { ids: number[] };
          acked.add(body.ids[0]);
          break;
        }
        // 429 (rate limit) or 503 (a node losing its database): try again.
        await pause(20);
      } catch {
        await pause(20);
      }
    }
  }
}

describe("three nodes on PostgreSQL, one killed under load", () => {
  let cluster: PostgresCluster;
  const nodes: ChildServer[] = [];
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.dispose()));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("gives every client every acknowledged event exactly once, in order, across the kill", async () => {
    const url = await cluster.createDatabase();
    const env = { DATABASE_URL: url, PORT: "0", HOST: "127.0.0.1", SWITCHBOARD_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: "info", PUBLISH_RATE_PER_KEY: "100000", PUBLISH_BURST_PER_KEY: "100000" };
    for (let i = 0; i < 3; i++) nodes.push(await ChildServer.start(env));
    const killed = new Set<ChildServer>();
    const up = () => nodes.filter((n) => !killed.has(n)).map((n) => n.url!);

    // Two clients on each node, and two publishers on each, spread over the nodes.
    const followers = Array.from({ length: 6 }, (_, i) => new Follower(up, i % 3));
    const acked = new Set<number>();
    const enough = () => acked.size >= ACKED;
    const publishers = Array.from({ length: 6 }, (_, i) => publisher(up, `p${i}`, acked, enough));

    // A third of the way, the first node dies: its clients and publishers go on through the others.
    await expect.poll(() => acked.size, { timeout: 120_000 }).toBeGreaterThanOrEqual(ACKED / 3);
    nodes[0].kill("SIGKILL");
    killed.add(nodes[0]);
    await Promise.all(publishers);

    const last = Math.max(...acked);
    for (const f of followers) await expect.poll(() => f.ids().at(-1) ?? 0, { timeout: 120_000 }).toBeGreaterThanOrEqual(last);
    await Promise.all(followers.map((f) => f.stop()));

    const want = [...acked].sort((a, b) => a - b);
    for (const f of followers) {
      const ids = f.ids();
      // Exactly once, in order: strictly increasing, every acknowledged event among them.
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true);
      const seen = new Set(ids);
      expect(want.filter((id) => !seen.has(id))).toEqual([]);
    }
    // The first node's clients did move to the others, and resumed there.
    expect(followers.filter((f) => f.connections > 1).length).toBeGreaterThanOrEqual(2);
  }, 600_000);
});
