import type pg from "pg";
import { expectedCost, rateMessage, type Admission, type PublishLimiter, type RateLimitOptions } from "../http/rate-limit.js";
import type { Logger } from "../logger.js";
import { inTransaction } from "./postgres-transaction.js";

/** How long a node keeps tokens it leased and did not spend; then they are dropped, erring on the strict side. */
const LEASE_MS = 1_000;
/** How often state that no longer matters is forgotten: here, and in the table. */
const SWEEP_MS = 60_000;
/** Milliseconds by PostgreSQL's clock, the one clock every node shares. */
const NOW = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

interface Local {
  /** Tokens leased from the shared bucket and not yet spent. */
  lease: number;
  leasedAt: number;
  /**
   * The last request refused, when its size is known, and what the bucket
   * held then (at `at`, by this node's clock): the bucket can have refilled
   * since by no more than the rate, which bounds what check() may let in.
   */
  refused?: { cost: number; bytes: number; tokens: number; at: number };
}

const OK: Admission = { ok: true };

/**
 * Each API key's publishing allowance across the nodes of a cluster: one
 * token bucket per key in PostgreSQL (`rate_buckets`), with the same rules
 * as RateLimiter, so a key gets what it would from one node whichever
 * nodes its requests reach. A node leases tokens from the bucket in slices
 * (a tenth of a second's rate) and spends them locally, so most requests
 * never wait on the database; tokens are only ever spent once leased, so
 * the cluster never lets a key exceed its allowance, and leased tokens a
 * node leaves unspent for a second are dropped (a key moving between nodes
 * may get slightly less, never more). A refusal is remembered, so a
 * flood's repeats are refused before their bodies are read, without
 * asking the database again.
 */
export class SharedRateLimiter implements PublishLimiter {
  readonly #pool: pg.Pool;
  readonly #rate: number;
  readonly #burst: number;
  /** Tokens leased beyond a request's cost, for the requests after it. */
  readonly #slice: number;
  readonly #local = new Map<string, Local>();
  readonly #logger: Logger;
  #sweptAt = Date.now();

  constructor(pool: pg.Pool, options: Omit<RateLimitOptions, "clock">, logger: Logger) {
    this.#pool = pool;
    this.#rate = options.ratePerSec;
    this.#burst = options.burst;
    this.#slice = Math.max(1, Math.ceil(Math.min(options.burst, options.ratePerSec) / 10));
    this.#logger = logger;
  }

  get enabled(): boolean {
    return this.#rate > 0;
  }

  message(retryAfterSec: number): string {
    return rateMessage(this.#rate, this.#burst, retryAfterSec);
  }

  check(who: string, bytes?: number): Admission {
    if (!this.enabled) return OK;
    const local = this.#local.get(who);
    const refused = local?.refused;
    if (!refused) return OK;
    // At most what the bucket held at the refusal, refilled since; other nodes' spending only lowers it.
    const now = Date.now();
    const most = Math.min(this.#burst, refused.tokens + ((now - refused.at) * this.#rate) / 1000) + this.#held(local, now);
    const needed = Math.min(expectedCost(refused, bytes), this.#burst);
    if (needed <= most) return OK;
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((needed - most) / this.#rate)) };
  }

  async take(who: string, cost: number, bytes?: number): Promise<Admission> {
    if (!this.enabled) return OK;
    const now = Date.now();
    if (now - this.#sweptAt >= SWEEP_MS) this.#sweep(now);
    const local = this.#local.get(who) ?? { lease: 0, leasedAt: now };
    this.#local.set(who, local);
    // What this node holds is spent first, and set aside before waiting, so concurrent requests never spend it twice.
    const mine = Math.min(this.#held(local, now), cost);
    local.lease -= mine;
    if (mine === cost) {
      local.refused = undefined;
      return OK;
    }
    let answer: { granted: number; tokens: number };
    try {
      answer = await this.#lease(who, cost - mine);
    } catch (err) {
      // The database is unreachable: the append that follows fails and says so; the allowance must not hide that.
      this.#logger.warn("publishing allowance unavailable", { error: (err as Error).message });
      return OK;
    }
    if (answer.granted === 0) {
      local.lease += mine;
      local.refused = bytes === undefined ? undefined : { cost, bytes, tokens: answer.tokens, at: Date.now() };
      const needed = Math.min(cost - mine, this.#burst);
      return { ok: false, retryAfterSec: Math.max(1, Math.ceil((needed - answer.tokens) / this.#rate)) };
    }
    local.lease = this.#held(local, Date.now()) + answer.granted - (cost - mine);
    local.leasedAt = Date.now();
    local.refused = undefined;
    return OK;
  }

  /** What `local` holds of its lease now: nothing once the lease is older than LEASE_MS. */
  #held(local: Local, now: number): number {
    return now - local.leasedAt <= LEASE_MS ? Math.max(0, local.lease) : 0;
  }

  /**
   * Takes `cost` tokens and up to a slice more from `who`'s bucket, or none
   * when it lacks `cost` (a cost above the bucket's size needs a full bucket
   * and leaves it below zero, as RateLimiter does). The row stays locked
   * from its refill to its update, so nodes take from it one at a time.
   */
  async #lease(who: string, cost: number): Promise<{ granted: number; tokens: number }> {
    return inTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ tokens: number; at: string; now: string }>(
        `INSERT INTO rate_buckets AS r (key_id, tokens, at) VALUES ($1, $2, ${NOW})
         ON CONFLICT (key_id) DO UPDATE SET key_id = r.key_id
         RETURNING r.tokens, r.at, ${NOW} AS now`,
        [who, this.#burst],
      );
      const now = Number(rows[0].now);
      const tokens = Math.min(this.#burst, rows[0].tokens + (Math.max(0, now - Number(rows[0].at)) * this.#rate) / 1000);
      const needed = Math.min(cost, this.#burst);
      const granted = tokens < needed ? 0 : cost > this.#burst ? cost : Math.max(cost, Math.min(tokens, cost + this.#slice));
      await client.query("UPDATE rate_buckets SET tokens = $2, at = $3 WHERE key_id = $1", [who, tokens - granted, now]);
      return { granted, tokens };
    });
  }

  /** Forgets leases and refusals that have lapsed, and buckets that have refilled (a full bucket and none are the same). */
  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [who, local] of this.#local) {
      if (this.#held(local, now) === 0 && (!local.refused || now - local.refused.at >= SWEEP_MS)) this.#local.delete(who);
    }
    this.#pool
      .query(`DELETE FROM rate_buckets WHERE tokens + (${NOW} - at) * $1::float8 / 1000 >= $2`, [this.#rate, this.#burst])
      .catch((err: Error) => this.#logger.warn("could not forget refilled publishing allowances", { error: err.message }));
  }
}
