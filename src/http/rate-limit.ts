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

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (clock ms). */
  at: number;
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
 * before its body is read, and cannot take the server from other keys.
 */
export class RateLimiter {
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

  /** Whether `who` may publish anything now, without spending: to refuse a request before reading its body. */
  check(who: string): Admission {
    return this.#admit(who, 1, false);
  }

  /** Spends `cost` events of `who`'s allowance when it may publish them now; otherwise spends nothing. */
  take(who: string, cost: number): Admission {
    return this.#admit(who, cost, true);
  }

  /** The sentence a refused client reads: which limit, and when to come back. */
  message(retryAfterSec: number): string {
    return (
      `rate limit: an API key may publish ${this.#rate} events per second, in bursts of up to ${this.#burst} ` +
      `(PUBLISH_RATE_PER_KEY, PUBLISH_BURST_PER_KEY); retry in ${retryAfterSec} s`
    );
  }

  /** Keys with a bucket not yet full: for tests and metrics. */
  get tracked(): number {
    return this.#buckets.size;
  }

  #admit(who: string, cost: number, spend: boolean): Admission {
    if (this.#rate <= 0) return { ok: true };
    const now = this.#clock();
    if (now - this.#sweptAt >= SWEEP_MS) this.#sweep(now);
    const bucket = this.#buckets.get(who) ?? { tokens: this.#burst, at: now };
    this.#refill(bucket, now);
    // A batch larger than the bucket needs a full bucket, not an impossible one.
    const needed = Math.min(cost, this.#burst);
    if (bucket.tokens < needed) {
      this.#buckets.set(who, bucket);
      return { ok: false, retryAfterSec: Math.max(1, Math.ceil((needed - bucket.tokens) / this.#rate)) };
    }
    if (spend) {
      bucket.tokens -= cost;
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

/** The 429 a refused client gets, with Retry-After in whole seconds. */
export function rateLimited(limiter: RateLimiter, retryAfterSec: number): ApiError {
  return new ApiError(429, "rate_limited", limiter.message(retryAfterSec), undefined, { "Retry-After": String(retryAfterSec) });
}

/**
 * Middleware for routes that append one event per request (commands): the
 * caller's key spends one event of its allowance, or the request gets 429.
 * Goes after requireKey, which sets the key.
 */
export function limitRate(limiter: RateLimiter) {
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    const admission = limiter.take(c.get("key").id, 1);
    if (!admission.ok) throw rateLimited(limiter, admission.retryAfterSec);
    await next();
  });
}
