/**
 * Several nodes on PostgreSQL (issue 11), beside the SQLite single node in
 * the same run: durable NDJSON ingest through one node and through three,
 * fan-out to streams spread over three nodes, and publish-to-delivery
 * latency on the same node and across nodes. Starts and stops its own
 * servers, PostgreSQL included.
 */
import type { Bench } from "./bench-context.js";
import { clusterFanout, type ClusterFanout } from "./cluster-fanout.js";
import { clusterIngest, type ClusterIngestFigures } from "./cluster-ingest.js";
import { clusterLatency, type ClusterLatency } from "./cluster-latency.js";
import { ClusterServers, type Node } from "./cluster-nodes.js";
import type { Failed } from "./report.js";

/**
 * `pg1`: node A alone (B and C not started yet), as one node of a cluster
 * whose other nodes run on other machines; `pg1of3`: through node A while B
 * and C run on the same cores, applying every event to their replicas;
 * `pg3`: connections spread over the three.
 */
export const INGEST_CASES = ["sqlite", "pg1", "pg1of3", "pg3"] as const;
export type IngestCase = (typeof INGEST_CASES)[number];

export interface ClusterResult {
  postgres?: { port: number; pid: number; settings: Record<string, string> };
  nodes: Record<string, { pid: number; port: number }>;
  ingest: Partial<Record<IngestCase, ClusterIngestFigures | Failed>>;
  latency?: ClusterLatency | Failed;
  /** The issue's layout: streams spread over the three PostgreSQL nodes, as many on the SQLite node. */
  fanout?: ClusterFanout | Failed;
  /** A third of them on one node of each kind (node A, B and C running): the same streams per process. */
  fanoutPerNode?: ClusterFanout | Failed;
  /** Set when the servers could not be started (nothing was measured). */
  error?: string;
  /** Nodes that exited during the run, with their last output. */
  deaths: string[];
}

export async function cluster(bench: Bench): Promise<ClusterResult> {
  const res: ClusterResult = { nodes: {}, ingest: {}, deaths: [] };
  const log = bench.log;
  log("Cluster: starting PostgreSQL (fsync and synchronous_commit on), the SQLite node and PostgreSQL node A");
  let servers: ClusterServers;
  try {
    servers = await ClusterServers.start(bench);
  } catch (err) {
    res.error = (err as Error).message;
    log(`  error: ${res.error}`);
    return res;
  }
  const started = (n: Node) => {
    res.nodes[n.label] = { pid: n.target.pid, port: n.target.port };
    log(`  started ${n.label}: pid ${n.target.pid}, port ${n.target.port}`);
  };
  /** Runs one phase, recording an error instead of stopping the scenario; a node that died fails every later phase. */
  const phase = async <T>(title: string, fn: () => Promise<T>): Promise<T | Failed> => {
    log(title);
    try {
      const dead = servers.deaths();
      if (dead.length) throw new Error(`a node is down: ${dead[0].split("\n")[0]}`);
      return await fn();
    } catch (err) {
      const error = (err as Error).message;
      log(`  error: ${error}`);
      return { error };
    }
  };
  try {
    res.postgres = { port: servers.postgresPort, pid: servers.postmasterPid, settings: servers.settings };
    log(`  PostgreSQL pid ${servers.postmasterPid}: ${Object.entries(servers.settings).map(([k, v]) => `${k}=${v}`).join(", ")}`);
    started(servers.sqlite);
    const a = await servers.addPgNode();
    started(a);
    const { sqlite } = servers;
    const conns = bench.opts.cluster.ingestConns;
    const ingestTitle = `Cluster: NDJSON ingest, ${conns} conns × ${bench.opts.ndjsonBatch} events`;
    const ingest = async (c: IngestCase, what: string, through: Node[], running: Node[]) => {
      const r = await phase(`${ingestTitle} — ${what}`, () => clusterIngest(bench, servers, through, running));
      res.ingest[c] = r;
      if (!("error" in r)) {
        const pgCpu = Number.isFinite(r.postgresCpuUsPerEvent) ? `, PostgreSQL ${r.postgresCpuUsPerEvent.toFixed(2)} µs/event` : "";
        log(`  ${Math.round(r.eventsPerSec).toLocaleString("en-US")} events/s, Switchboard ${r.serverCpuUsPerEvent.toFixed(2)} µs/event${pgCpu}, request p99 ${r.requestP99Ms.toFixed(0)} ms, ${r.errors} errors`);
      }
    };
    await ingest("sqlite", "SQLite node", [sqlite], [sqlite]);
    await ingest("pg1", `${a.label} alone`, [a], [a]);
    try {
      log("Cluster: starting PostgreSQL nodes B and C");
      started(await servers.addPgNode());
      started(await servers.addPgNode());
    } catch (err) {
      log(`  error: ${(err as Error).message}`);
    }
    const pg = servers.pgNodes;
    if (pg.length === 3) {
      await ingest("pg1of3", `${a.label}, with ${pg[1].label} and ${pg[2].label} running`, [a], pg);
      await ingest("pg3", `spread over ${pg.map((n) => n.label).join(", ")}`, pg, pg);
      const o = bench.opts.cluster;
      res.latency = await phase(
        `Cluster: publish → delivery latency, ${o.latencySubscribers} streams on ${a.label} (and on the SQLite node), ${o.latencyRate} ev/s × ${o.latencySeconds} s`,
        () => clusterLatency(bench, servers),
      );
      res.fanout = await phase(
        `Cluster: fan-out to ${o.subscribers} streams over ${pg.map((n) => n.label).join(", ")} (and as many on the SQLite node), ${o.rate} ev/s × ${o.seconds} s`,
        () => clusterFanout(bench, servers, o.subscribers, pg),
      );
      // The SQLite node alone with every stream is overloaded on two cores and writes several events per
      // write: a delivery costs it less than to a node serving a third of them. Like for like is one node
      // of each kind with a third each.
      const share = Math.ceil(o.subscribers / pg.length);
      res.fanoutPerNode = await phase(
        `Cluster: fan-out to ${share} streams on ${a.label} alone (and as many on the SQLite node), ${o.rate} ev/s × ${o.seconds} s`,
        () => clusterFanout(bench, servers, share, [a]),
      );
    }
  } finally {
    res.deaths = servers.deaths();
    for (const d of res.deaths) log(`  a node died: ${d}`);
    await servers.stop();
  }
  return res;
}
