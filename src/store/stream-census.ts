import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Logger } from "../logger.js";
import { inTransaction } from "./postgres-transaction.js";

/** Milliseconds by PostgreSQL's clock, the one clock every node shares. */
const NOW = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
/** A node that has not reported for this long is gone (or cut off): its streams no longer count. */
const SILENT_MS = 5_000;
/** Rows of nodes silent for this long are deleted. */
const FORGOTTEN_MS = 60_000;

export interface CensusOptions {
  pool: pg.Pool;
  /** This node's open streams per scope (a tenant, or "*" for admin streams), read at each report. */
  counts: () => ReadonlyMap<string, number>;
  /** The workers whose command streams this node holds (see Presence), as `tenant\u0000worker` keys. */
  workers: () => Iterable<string>;
  /** How often counts are exchanged: the stream cap may be exceeded by what opens in between. */
  intervalMs: number;
  logger: Logger;
}

/**
 * The streams every node of a cluster has open, per tenant, so a tenant's
 * stream cap counts all of them, and the workers whose command streams it
 * holds, so an agent is present while any node holds one: each node
 * writes its counts to `node_streams` and its workers to `node_workers`
 * every `intervalMs`, and reads the others'. A node that
 * stops reporting (dead, or cut off from the database) stops counting
 * after a few seconds; one that stops cleanly removes its rows. Between
 * two reports a node knows only its own openings, so a cluster of n nodes
 * can overshoot a cap by what opens on the others within one interval.
 */
export class StreamCensus {
  readonly node = randomUUID();
  #elsewhere = new Map<string, number>();
  #workersElsewhere: ReadonlySet<string> = new Set();
  #live: ReadonlySet<string> = new Set();
  /** What this node last reported, to write only what changed. */
  #reported = new Map<string, number>();
  #reportedWorkers = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(private readonly options: CensusOptions) {}

  /** Streams of `scope` open on the other nodes, as they last reported. */
  elsewhere(scope: string): number {
    return this.#elsewhere.get(scope) ?? 0;
  }

  /** Workers (`tenant\u0000worker`) whose command streams the other nodes held when they last reported. */
  workersElsewhere(): ReadonlySet<string> {
    return this.#workersElsewhere;
  }

  /** The nodes that reported streams within the last few seconds, this one included: those alive and connected. */
  liveNodes(): ReadonlySet<string> {
    return new Set([...this.#live, this.node]);
  }

  start(): void {
    const tick = () => {
      this.#running = this.#exchange().catch((err: Error) => this.options.logger.warn("could not exchange stream counts", { error: err.message }));
      void this.#running.then(() => {
        if (this.#timer) this.#timer = setTimeout(tick, this.options.intervalMs).unref();
      });
    };
    this.#timer = setTimeout(tick, 0).unref();
  }

  /** Stops reporting and removes this node's rows: its streams are closing. */
  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
    await this.options.pool.query("DELETE FROM node_streams WHERE node = $1", [this.node]).catch(() => undefined);
    await this.options.pool.query("DELETE FROM node_workers WHERE node = $1", [this.node]).catch(() => undefined);
  }

  async #exchange(): Promise<void> {
    const { pool } = this.options;
    const counts = this.options.counts();
    const changed: [string, number][] = [];
    for (const [scope, n] of counts) if (n > 0 && this.#reported.get(scope) !== n) changed.push([scope, n]);
    const gone = [...this.#reported.keys()].filter((scope) => !counts.get(scope));
    const workers = new Set(this.options.workers());
    const joined = [...workers].filter((k) => !this.#reportedWorkers.has(k)).map(split);
    const left = [...this.#reportedWorkers].filter((k) => !workers.has(k)).map(split);
    const { rows, held, live } = await inTransaction(pool, async (client) => {
      if (changed.length > 0) {
        await client.query(
          `INSERT INTO node_streams (node, tenant, streams, at) SELECT $1, t, n, ${NOW} FROM unnest($2::text[], $3::bigint[]) AS c(t, n)
           ON CONFLICT (node, tenant) DO UPDATE SET streams = excluded.streams, at = excluded.at`,
          [this.node, changed.map((c) => c[0]), changed.map((c) => c[1])],
        );
      }
      if (gone.length > 0) await client.query("DELETE FROM node_streams WHERE node = $1 AND tenant = ANY($2::text[])", [this.node, gone]);
      if (joined.length > 0) {
        await client.query(
          `INSERT INTO node_workers (node, tenant, worker, at) SELECT $1, t, w, ${NOW} FROM unnest($2::text[], $3::text[]) AS j(t, w)
           ON CONFLICT (node, tenant, worker) DO UPDATE SET at = excluded.at`,
          [this.node, joined.map((j) => j[0]), joined.map((j) => j[1])],
        );
      }
      if (left.length > 0) {
        await client.query("DELETE FROM node_workers w USING unnest($2::text[], $3::text[]) AS l(t, w2) WHERE w.node = $1 AND w.tenant = l.t AND w.worker = l.w2", [
          this.node,
          left.map((l) => l[0]),
          left.map((l) => l[1]),
        ]);
      }
      // Every row of this node says it is alive, changed or not.
      for (const table of ["node_streams", "node_workers"]) {
        await client.query(`UPDATE ${table} SET at = ${NOW} WHERE node = $1`, [this.node]);
        await client.query(`DELETE FROM ${table} WHERE at < ${NOW} - $1`, [FORGOTTEN_MS]);
      }
      const { rows } = await client.query<{ tenant: string; streams: string }>(
        `SELECT tenant, sum(streams) AS streams FROM node_streams WHERE node <> $1 AND at >= ${NOW} - $2 GROUP BY tenant`,
        [this.node, SILENT_MS],
      );
      const { rows: held } = await client.query<{ tenant: string; worker: string }>(
        `SELECT DISTINCT tenant, worker FROM node_workers WHERE node <> $1 AND at >= ${NOW} - $2`,
        [this.node, SILENT_MS],
      );
      const { rows: live } = await client.query<{ node: string }>(`SELECT DISTINCT node FROM node_streams WHERE at >= ${NOW} - $1`, [SILENT_MS]);
      return { rows, held, live };
    });
    this.#elsewhere = new Map(rows.map((r) => [r.tenant, Number(r.streams)]));
    this.#workersElsewhere = new Set(held.map((r) => `${r.tenant}\u0000${r.worker}`));
    this.#live = new Set(live.map((r) => r.node));
    for (const [scope, n] of changed) this.#reported.set(scope, n);
    for (const scope of gone) this.#reported.delete(scope);
    this.#reportedWorkers = workers;
  }
}

const split = (key: string) => key.split("\u0000") as [string, string];
