import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChildServer } from "./support/child-server.js";
import { walkHistory } from "./support/history-pages.js";
import { startPostgres, type PostgresCluster } from "./support/postgres.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

const GRACE_MS = "1500";
const auth = { authorization: `Bearer ${ADMIN_KEY}` };

/** A worker's command stream on a node: holding it open is the agent's presence. */
async function openWorker(node: { url: string }, worker: string): Promise<SseClient> {
  const client = await SseClient.open(`${node.url}/api/v1/tenants/demo/workers/${worker}/commands`, auth);
  expect(client.status).toBe(200);
  return client;
}

/**
 * Presence on a cluster: an agent's command streams may be on any node, and
 * the leader decides disconnections from every node's streams. An agent
 * moving between nodes stays connected; one whose node dies is called
 * disconnected once, a grace period after its node fell silent.
 */
describe("agent presence across nodes", () => {
  let cluster: PostgresCluster;
  let url: string;
  let leader: TestServer;
  let other: ChildServer & { url: string };

  beforeAll(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    // Started first, this node takes leadership; the other is a process of its own, to be killed.
    leader = await startTestServer({ DATABASE_URL: url, PRESENCE_GRACE_MS: GRACE_MS });
    other = await ChildServer.start({ DATABASE_URL: url, PORT: "0", HOST: "127.0.0.1", SWITCHBOARD_ADMIN_KEY: ADMIN_KEY, PRESENCE_GRACE_MS: GRACE_MS });
  }, 120_000);
  afterAll(async () => {
    other?.kill("SIGKILL");
    await other?.exited;
    await leader?.dispose();
    await cluster?.stop();
  });

  const agentEvents = async (worker: string) => (await walkHistory(leader, "demo", { types: "agent.*", subject: worker })).map((e) => e.type);
  const until = (worker: string, types: string[]) =>
    expect.poll(() => agentEvents(worker), { timeout: 60_000, interval: 100 }).toEqual(types);

  it("keeps an agent that moves to another node connected, and disconnects those of a node that dies, once", async () => {
    const first = await openWorker(leader, "w-move");
    await until("w-move", ["agent.connected"]);
    // The agent moves: a stream on the other node, then the first one closes.
    const moved = await openWorker(other, "w-move");
    first.close();
    const staying = await openWorker(other, "w-stays");
    await until("w-stays", ["agent.connected"]);

    // A witness leaves the leader's node after the move: once it is disconnected, a grace period has passed
    // for the mover too, which would have been disconnected by then if its stream on the other node did not count.
    const witness = await openWorker(leader, "w-witness");
    await until("w-witness", ["agent.connected"]);
    witness.close();
    await until("w-witness", ["agent.connected", "agent.disconnected"]);
    expect(await agentEvents("w-move")).toEqual(["agent.connected"]);

    // The other node dies holding both streams: each agent is disconnected, once, by the leader.
    other.kill("SIGKILL");
    await Promise.all([moved.until((c) => c.closed), staying.until((c) => c.closed)]);
    await until("w-move", ["agent.connected", "agent.disconnected"]);
    await until("w-stays", ["agent.connected", "agent.disconnected"]);
    const gone = await walkHistory(leader, "demo", { types: "agent.disconnected", subject: "w-stays" });
    expect(gone[0].data).toEqual({ reason: "command stream closed" });
  });
});
