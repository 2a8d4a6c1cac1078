import type Database from "better-sqlite3";
import type { Logger } from "../logger.js";
import { nextTurn } from "../next-turn.js";
import { TypeCounts } from "./type-counts.js";

export interface RetentionOptions {
  /** Events older than this many ms are pruned; 0 keeps them by age forever. */
  maxAgeMs: number;
  /** Events kept per tenant; 0 means no limit. */
  maxEvents: number;
  intervalMs: number;
  /** Rows deleted per transaction; the loop yields between batches so appends go on. */
  batchSize?: number;
  clock?: () => number;
}

/**
 * Prunes old events in the background, by age and by count per tenant.
 * Deletes run in small transactions with a yield between them, so appends
 * are never blocked for long; `tenants.pruned_through` records how far each
 * tenant was pruned, so a stream resuming below it gets a reset instead of
 * silently missing events. Ids are never reused (AUTOINCREMENT).
 */
export class Retention {
  readonly #db: Database.Database;
  readonly #opts: Required<RetentionOptions>;
  /** Made at the first delete: the constructor prepares nothing, so a pass on a broken database fails (and is logged) in the pass. */
  #typeCounts: TypeCounts | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #stopped = false;

  constructor(db: Database.Database, options: RetentionOptions, private readonly logger?: Logger) {
    this.#db = db;
    this.#opts = { batchSize: 1000, clock: Date.now, ...options };
  }

  start(): void {
    if (this.#opts.maxAgeMs === 0 && this.#opts.maxEvents === 0) return;
    // A failed pass (database busy or gone) is logged and retried on the next tick; thrown from a
    // timer it would be an unhandled rejection, which ends the whole process.
    this.#timer = setInterval(
      () => void this.runOnce().catch((err: Error) => this.logger?.error("retention pass failed", { error: err.message })),
      this.#opts.intervalMs,
    );
    this.#timer.unref();
  }

  /** Waits for a pass under way, then stops. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  /** One pass over every tenant; resolves with the number of events pruned. */
  runOnce(): Promise<number> {
    this.#running ??= this.#pass().finally(() => (this.#running = null));
    return this.#running;
  }

  async #pass(): Promise<number> {
    const tenants = this.#db.prepare("SELECT slug FROM tenants").pluck().all() as string[];
    let pruned = 0;
    for (const tenant of tenants) {
      const cutoff = this.#cutoff(tenant);
      while (cutoff > 0 && !this.#stopped) {
        const n = this.#deleteBatch(tenant, cutoff);
        if (n === 0) break;
        pruned += n;
        await nextTurn();
      }
    }
    if (pruned > 0) this.logger?.info("retention pruned events", { pruned });
    return pruned;
  }

  /** The highest id to prune for a tenant (0 for none): the larger of the age and count cutoffs. */
  #cutoff(tenant: string): number {
    let cutoff = 0;
    const { maxEvents, maxAgeMs } = this.#opts;
    // Ids are shared by all tenants, so a tenant whose id span is under the
    // limit cannot hold more events than it: skip the counting scan.
    // (Two single-aggregate queries: each is answered from the index's ends.)
    const newest = (this.#db.prepare("SELECT max(id) FROM events WHERE tenant = ?").pluck().get(tenant) as number | null) ?? 0;
    const oldest = (this.#db.prepare("SELECT min(id) FROM events WHERE tenant = ?").pluck().get(tenant) as number | null) ?? 0;
    if (maxEvents > 0 && newest - oldest + 1 > maxEvents) {
      const id = this.#db.prepare("SELECT id FROM events WHERE tenant = ? ORDER BY id DESC LIMIT 1 OFFSET ?").pluck().get(tenant, maxEvents) as number | undefined;
      cutoff = Math.max(cutoff, id ?? 0);
    }
    if (maxAgeMs > 0) {
      // Ids grow with time, so the expired events are a prefix of the tenant's log.
      const since = this.#opts.clock() - maxAgeMs;
      const firstKept = this.#db.prepare("SELECT id FROM events WHERE tenant = ? AND ts >= ? ORDER BY id LIMIT 1").pluck().get(tenant, since) as number | undefined;
      const last = firstKept === undefined ? newest : firstKept - 1;
      cutoff = Math.max(cutoff, last);
    }
    return cutoff;
  }

  #deleteBatch(tenant: string, cutoff: number): number {
    return this.#db.transaction(() => {
      const upTo = this.#db
        .prepare("SELECT max(id) FROM (SELECT id FROM events WHERE tenant = ? AND id <= ? ORDER BY id LIMIT ?)")
        .pluck()
        .get(tenant, cutoff, this.#opts.batchSize) as number | null;
      if (upTo === null) return 0;
      // Uncounted in the same transaction as the delete: the summary never disagrees with the log.
      (this.#typeCounts ??= new TypeCounts(this.#db)).recordPruned(tenant, upTo);
      const { changes } = this.#db.prepare("DELETE FROM events WHERE tenant = ? AND id <= ?").run(tenant, upTo);
      this.#db.prepare("UPDATE tenants SET pruned_through = max(pruned_through, ?) WHERE slug = ?").run(upTo, tenant);
      return changes;
    })();
  }
}
