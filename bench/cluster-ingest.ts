/**
 * Durable NDJSON ingest through some nodes of the cluster scenario: the
 * connections spread evenly over them, CPU per event summed over every
 * Switchboard node running (each applies every event to its replica, not
 * only the one that took it), PostgreSQL's own beside it.
 */
import { split, type Bench } from "./bench-context.js";
import { POSTGRES, type ClusterServers, type Node } from "./cluster-nodes.js";
import { CpuWindows } from "./proc-stats.js";
import { driveIngest, ingestFigures, type IngestFigures } from "./scenario-ingest.js";

export interface ClusterIngestFigures extends IngestFigures {
  /** Labels of the nodes the connections went to. */
  through: string[];
  /** Labels of the Switchboard nodes running (their CPU is the server's). */
  running: string[];
  /** Each running node's CPU per event. */
  nodeCpuUsPerEvent: Record<string, number>;
  /** PostgreSQL's server and backends (NaN for the SQLite node). */
  postgresCpuUsPerEvent: number;
  postgresCpuPct: number;
}

/** `through`: the nodes taking connections; `running`: every Switchboard node up at the time. */
export async function clusterIngest(bench: Bench, servers: ClusterServers, through: readonly Node[], running: readonly Node[]): Promise<ClusterIngestFigures> {
  const conns = bench.opts.cluster.ingestConns;
  const batch = bench.opts.ndjsonBatch;
  const shares = split(conns, through.length);
  const lanes = through.map((n, i) => ({ target: n.target.publish, conns: shares[i] })).filter((l) => l.conns > 0);
  const { results, cpu } = await driveIngest(bench, lanes, "ndjson", batch, new CpuWindows(servers.cpuSources(running), bench.clientPids));
  const serverUs = running.reduce((a, n) => a + cpu.us[n.label], 0);
  const figures = ingestFigures("ndjson", conns, batch, results, { ...cpu, serverUs });
  const postgresUs = cpu.us[POSTGRES] ?? NaN;
  return {
    ...figures,
    through: through.map((n) => n.label),
    running: running.map((n) => n.label),
    nodeCpuUsPerEvent: Object.fromEntries(running.map((n) => [n.label, cpu.us[n.label] / figures.events])),
    postgresCpuUsPerEvent: postgresUs / figures.events,
    postgresCpuPct: (100 * postgresUs) / 1000 / cpu.wallMs,
  };
}
