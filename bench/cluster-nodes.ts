/**
 * The servers of the cluster scenario: a durable PostgreSQL server, started
 * as the tests start theirs (test/support/postgres.ts) but with fsync and
 * synchronous_commit on; Switchboard nodes on one database of it, sharing
 * one admin key; and the SQLite single node beside them, for comparison.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { createDatabase, startPostgres, type PostgresCluster } from "../test/support/postgres.js";
import type { Bench } from "./bench-context.js";
import { cpuMicros, treeCpuMicros } from "./proc-stats.js";
import { startOurs, trackExternal, type Target } from "./servers.js";

/** A server under test and the name it goes by in the scenario's figures. */
export interface Node {
  label: string;
  target: Target;
}

/** Labels of the PostgreSQL nodes, in the order they start; the first takes the publishes. */
export const PG_LABELS = ["pg-a", "pg-b", "pg-c"] as const;
export const POSTGRES = "postgres";

/** The settings that make an acknowledgement durable, as PostgreSQL reports them (SHOW). */
const DURABILITY_SETTINGS = ["fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers"] as const;

export class ClusterServers {
  readonly pgNodes: Node[] = [];

  private constructor(
    private readonly bench: Bench,
    private readonly postgres: PostgresCluster,
    private readonly forget: () => void,
    readonly postmasterPid: number,
    readonly databaseUrl: string,
    readonly settings: Record<string, string>,
    readonly sqlite: Node,
    private readonly adminKey: string,
  ) {}

  /** PostgreSQL (durable), a database on it, and the SQLite node; PostgreSQL nodes come with addPgNode. */
  static async start(bench: Bench): Promise<ClusterServers> {
    const postgres = await startPostgres({ durable: true });
    const postmasterPid = Number(readFileSync(path.join(postgres.dataDir, "postmaster.pid"), "latin1").split("\n", 1)[0]);
    // If this process dies without stopping it: SIGQUIT is PostgreSQL's immediate shutdown.
    const forget = trackExternal(postmasterPid, () => {
      try {
        process.kill(postmasterPid, "SIGQUIT");
      } catch {
        // already gone
      }
      rmSync(path.dirname(postgres.dataDir), { recursive: true, force: true });
    });
    try {
      const databaseUrl = await createDatabase(postgres.port, "switchboard_bench");
      const settings = await showSettings(databaseUrl);
      if (settings.fsync !== "on" || settings.synchronous_commit !== "on") throw new Error(`PostgreSQL is not durable: ${JSON.stringify(settings)}`);
      const sqlite = { label: "sqlite", target: await startOurs(nodeEnv(bench)) };
      return new ClusterServers(bench, postgres, forget, postmasterPid, databaseUrl, settings, sqlite, "bench-" + randomBytes(24).toString("hex"));
    } catch (err) {
      forget();
      await postgres.stop();
      throw err;
    }
  }

  /** Starts the next PostgreSQL node (one at a time: the first applies the migrations and makes the admin key). */
  async addPgNode(): Promise<Node> {
    const label = PG_LABELS[this.pgNodes.length];
    if (!label) throw new Error(`at most ${PG_LABELS.length} PostgreSQL nodes`);
    const target = await startOurs(nodeEnv(this.bench), { databaseUrl: this.databaseUrl, adminKey: this.adminKey });
    const node = { label, target };
    this.pgNodes.push(node);
    return node;
  }

  get postgresPort(): number {
    return this.postgres.port;
  }

  /** CPU µs of PostgreSQL: its server process and every backend (one per connection). */
  postgresCpu(): number {
    return treeCpuMicros(this.postmasterPid);
  }

  /** CPU readings for a window over the given Switchboard nodes, and PostgreSQL's when a PostgreSQL node is among them. */
  cpuSources(nodes: readonly Node[]): Record<string, () => number> {
    const sources: Record<string, () => number> = {};
    for (const n of nodes) sources[n.label] = () => cpuMicros(n.target.pid);
    if (nodes.some((n) => n !== this.sqlite)) sources[POSTGRES] = () => this.postgresCpu();
    return sources;
  }

  /** Nodes that have exited, with how and their last output. */
  deaths(): string[] {
    return [this.sqlite, ...this.pgNodes].flatMap((n) => {
      const why = n.target.exited();
      return why ? [`${n.label} ${why}\n--- its output ---\n${n.target.output()}`] : [];
    });
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.sqlite, ...this.pgNodes].map((n) => n.target.stop()));
    await this.postgres.stop();
    this.forget();
  }
}

/** Every node allows the scenario's streams: its fan-out opens more on one tenant than the default cap. */
function nodeEnv(bench: Bench): Record<string, string> {
  const streams = Math.max(bench.opts.cluster.subscribers, bench.opts.cluster.latencySubscribers) + 1000;
  return { SSE_MAX_STREAMS_PER_TENANT: String(Math.max(10_000, streams)), ...bench.opts.serverEnv };
}

async function showSettings(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, string> = {};
    for (const name of DURABILITY_SETTINGS) out[name] = String((await client.query(`SHOW ${name}`)).rows[0][name]);
    return out;
  } finally {
    await client.end();
  }
}
