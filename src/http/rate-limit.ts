import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./env.js";
import { ApiError } from "./errors.js";

export interface RateLimitOptions {
  /** Events per second a key may publish, sustained; 0 turns the limit off. */
  ratePerSec: number;
  /** Events a key may publish at once after being idle (the bucket's size). */
  burst: number;
  /** Milliseconds; injectable for tests. */
  clock?: () => number;
}

/** Whether a key may go ahead, and if not, after how many whole seconds it may try again. */
export type Admission = { ok: true } | { ok: false; retryAfterSec: number };

/**
 * Each API key's publishing allowance, counted in events, as the routes
 * use it: a RateLimiter on a single host, a SharedRateLimiter across the
 * nodes of a cluster.
 */
export interface PublishLimiter {
  readonly enabled: boolean;
  /** Whether `who` may publish now, asked before a request of `bytes` is read; spends nothing. */
  check(who: string, bytes?: number): Admission;
  /** Spends `cost` events of `who`'s allowance when it may publish them now; otherwise spends nothing. */
  take(who: string, cost: number, bytes?: number): Admission | Promise<Admission>;
  /** The sentence a refused client reads: which limit, and when to come back. */
  message(retryAfterSec: number): string;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (clock ms). */
  at: number;
  /** The key's last request, when it was refused and its size is known: what check() expects back. */
  refused?: { cost: number; bytes: number };
}

/** How often buckets that have refilled completely are forgotten (a full bucket and no bucket are the same). */
const SWEEP_MS = 60_000;

/**
 * Per-key publishing limit: a token bucket per API key, counted in events
 * (a batch of n costs n, a command 1). It refills at `ratePerSec` up to
 * `burst`. A request is let through when the bucket holds its cost, or,
 * for a batch larger than the bucket, when the bucket is full; the bucket
 * may then go below zero, so a full-size batch is always possible after
 * idling and the key pays for it afterwards, never exceeding the rate on
 * average. One key's flood is refused with 429 and Retry-After, cheaply,
 * before its body is read, and cannot take the server from other keys:
 * check() expects a refused request to come back: a body the size of a
 * refused 100-event batch is turned away until 100 events have refilled,
 * rather than parsed only to be refused; a smaller one is read.
 */
export class RateLimiter implements PublishLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: () => number;
  readonly #buckets = new Map<string, Bucket>();
  #sweptAt: number;

  constructor(options: RateLimitOptions) {
    this.#rate = options.ratePerSec;
    this.#burst = options.burst;
    this.#clock = options.clock ?? Date.now;
    this.#sweptAt = this.#clock();
  }

  get enabled(): boolean {
    return this.#rate > 0;
  }

  /**
   * Whether `who` may publish now, without spending: to refuse a request of
   * `bytes` (its Content-Length, when sent) before reading its body. It is
   * expected to cost one event, or after a refusal, what its size says at
   * the refused request's bytes per event, at most that request's cost.
   */
  check(who: string, bytes?: number): Admission {
    return this.#admit(who, undefined, bytes);
  }

  /** Spends `cost` events of `who`'s allowance (a request of `bytes`) when it may publish them now; otherwise spends nothing. */
  take(who: string, cost: number, bytes?: number): Admission {
    return this.#admit(who, cost, bytes);
  }

  /** The sentence a refused client reads: which limit, and when to come back. */
  message(retryAfterSec: number): string {
    return rateMessage(this.#rate, this.#burst, retryAfterSec);
  }

  /** Keys with a bucket not yet full: for tests and metrics. */
  get tracked(): number {
    return this.#buckets.size;
  }

  /** Admits and spends a request of `cost` events; without a cost, only asks about the request as expected. */
  #admit(who: string, cost: number | undefined, bytes: number | undefined): Admission {
    if (this.#rate <= 0) return { ok: true };
    const now = this.#clock();
    if (now - this.#sweptAt >= SWEEP_MS) this.#sweep(now);
    const bucket = this.#buckets.get(who) ?? { tokens: this.#burst, at: now };
    this.#refill(bucket, now);
    // A batch larger than the bucket needs a full bucket, not an impossible one.
    const needed = Math.min(cost ?? expectedCost(bucket.refused, bytes), this.#burst);
    if (bucket.tokens < needed) {
      if (cost !== undefined) bucket.refused = bytes !== undefined && bytes > 0 ? { cost, bytes } : undefined;
      this.#buckets.set(who, bucket);
      return { ok: false, retryAfterSec: Math.max(1, Math.ceil((needed - bucket.tokens) / this.#rate)) };
    }
    if (cost !== undefined) {
      bucket.tokens -= cost;
      bucket.refused = undefined;
      this.#buckets.set(who, bucket);
    }
    return { ok: true };
  }

  #refill(bucket: Bucket, now: number): void {
    // A clock that steps back must not mint tokens, nor take them.
    const elapsed = Math.max(0, now - bucket.at);
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (elapsed / 1000) * this.#rate);
    bucket.at = now;
  }

  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [who, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      if (bucket.tokens >= this.#burst) this.#buckets.delete(who);
    }
  }
}

/**
 * What a request of `bytes` is expected to cost before its body is read:
 * one event, or after a refusal, what its size says at the refused
 * request's bytes per event, at most that request's cost.
 */
export function expectedCost(refused: { cost: number; bytes: number } | undefined, bytes: number | undefined): number {
  if (!refused || bytes === undefined) return 1;
  // The epsilon keeps a body the refused one's size from rounding down to one event less.
  return Math.max(1, Math.min(refused.cost, Math.floor((bytes * refused.cost) / refused.bytes + 1e-9)));
}

/** What a refused client reads, from either limiter: the limits, and when to come back. */
export function rateMessage(ratePerSec: number, burst: number, retryAfterSec: number): string {
  return (
    `rate limit: an API key may publish ${ratePerSec} events per second, in bursts of up to ${burst} ` +
    `(PUBLISH_RATE_PER_KEY, PUBLISH_BURST_PER_KEY); retry in ${retryAfterSec} s`
  );
}

/** The 429 a refused client gets, with Retry-After in whole seconds. */
export function rateLimited(limiter: PublishLimiter, retryAfterSec: number): ApiError {
  return new ApiError(429, "rate_limited", limiter.message(retryAfterSec), undefined, { "Retry-After": String(retryAfterSec) });
}

/**
 * Middleware for routes that append one event per request (commands): the
 * caller's key spends one event of its allowance, or the request gets 429.
 * Goes after requireKey, which sets the key.
 */
export function limitRate(limiter: PublishLimiter) {
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    const admission = await limiter.take(c.get("key").id, 1);
    if (!admission.ok) throw rateLimited(limiter, admission.retryAfterSec);
    await next();
  });
}
