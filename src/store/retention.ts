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

/** What retention asks of the database holding the log: SQLite's writer connection, or PostgreSQL. */
export interface Pruner {
  tenants(): Awaitable<string[]>;
  /** The tenant's lowest and highest retained ids (0 for none): each answered from an end of its index. */
  span(tenant: string): Awaitable<{ oldest: number; newest: number }>;
  /** The id `n` places below the tenant's newest (its newest is place 0), if it has that many. */
  nthNewest(tenant: string, n: number): Awaitable<number | undefined>;
  /** The tenant's first id stamped at or after `since`. */
  firstSince(tenant: string, since: number): Awaitable<number | undefined>;
  /**
   * Deletes the tenant's oldest events up to `cutoff`, at most `batch` of
   * them, in one transaction that also uncounts them from the type summary
   * and raises the tenant's `pruned_through`; returns how many went.
   */
  deleteBatch(tenant: string, cutoff: number, batch: number): Awaitable<number>;
}

type Awaitable<T> = T | Promise<T>;

/**
 * Prunes old events in the background, by age and by count per tenant.
 * Deletes run in small transactions with a yield between them, so appends
 * are never blocked for long; `tenants.pruned_through` records how far each
 * tenant was pruned, so a stream resuming below it gets a reset instead of
 * silently missing events. Ids are never reused (AUTOINCREMENT, or the
 * sequence's high-water mark on PostgreSQL).
 */
export class Retention {
  readonly #pruner: Pruner;
  readonly #opts: Required<RetentionOptions>;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  #stopped = false;

  constructor(pruner: Pruner, options: RetentionOptions, private readonly logger?: Logger) {
    this.#pruner = pruner;
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
    let pruned = 0;
    for (const tenant of await this.#pruner.tenants()) {
      const cutoff = await this.#cutoff(tenant);
      while (cutoff > 0 && !this.#stopped) {
        const n = await this.#pruner.deleteBatch(tenant, cutoff, this.#opts.batchSize);
        if (n === 0) break;
        pruned += n;
        await nextTurn();
      }
    }
    if (pruned > 0) this.logger?.info("retention pruned events", { pruned });
    return pruned;
  }

  /** The highest id to prune for a tenant (0 for none): the larger of the age and count cutoffs. */
  async #cutoff(tenant: string): Promise<number> {
    let cutoff = 0;
    const { maxEvents, maxAgeMs } = this.#opts;
    // Ids are shared by all tenants, so a tenant whose id span is under the
    // limit cannot hold more events than it: skip the counting scan.
    const { oldest, newest } = await this.#pruner.span(tenant);
    if (maxEvents > 0 && newest - oldest + 1 > maxEvents) cutoff = Math.max(cutoff, (await this.#pruner.nthNewest(tenant, maxEvents)) ?? 0);
    if (maxAgeMs > 0) {
      // Ids grow with time, so the expired events are a prefix of the tenant's log.
      const firstKept = await this.#pruner.firstSince(tenant, this.#opts.clock() - maxAgeMs);
      cutoff = Math.max(cutoff, firstKept === undefined ? newest : firstKept - 1);
    }
    return cutoff;
  }
}

/** Retention's questions on SQLite, on the writer thread's connection. */
export class SqlitePruner implements Pruner {
  /** Made at the first delete: the constructor prepares nothing, so a pass on a broken database fails (and is logged) in the pass. */
  #typeCounts: TypeCounts | null = null;

  constructor(private readonly db: Database.Database) {}

  tenants(): string[] {
    return this.db.prepare("SELECT slug FROM tenants").pluck().all() as string[];
  }

  span(tenant: string): { oldest: number; newest: number } {
    // Two single-aggregate queries: each is answered from the index's ends.
    const newest = (this.db.prepare("SELECT max(id) FROM events WHERE tenant = ?").pluck().get(tenant) as number | null) ?? 0;
    const oldest = (this.db.prepare("SELECT min(id) FROM events WHERE tenant = ?").pluck().get(tenant) as number | null) ?? 0;
    return { oldest, newest };
  }

  nthNewest(tenant: string, n: number): number | undefined {
    return this.db.prepare("SELECT id FROM events WHERE tenant = ? ORDER BY id DESC LIMIT 1 OFFSET ?").pluck().get(tenant, n) as number | undefined;
  }

  firstSince(tenant: string, since: number): number | undefined {
    return this.db.prepare("SELECT id FROM events WHERE tenant = ? AND ts >= ? ORDER BY id LIMIT 1").pluck().get(tenant, since) as number | undefined;
  }

  deleteBatch(tenant: string, cutoff: number, batch: number): number {
    return this.db.transaction(() => {
      const upTo = this.db
        .prepare("SELECT max(id) FROM (SELECT id FROM events WHERE tenant = ? AND id <= ? ORDER BY id LIMIT ?)")
        .pluck()
        .get(tenant, cutoff, batch) as number | null;
      if (upTo === null) return 0;
      // Uncounted in the same transaction as the delete: the summary never disagrees with the log.
      (this.#typeCounts ??= new TypeCounts(this.db)).recordPruned(tenant, upTo);
      const { changes } = this.db.prepare("DELETE FROM events WHERE tenant = ? AND id <= ?").run(tenant, upTo);
      this.db.prepare("UPDATE tenants SET pruned_through = max(pruned_through, ?) WHERE slug = ?").run(upTo, tenant);
      return changes;
    })();
  }
}
