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
  check(who: string, bytes?: number): Admission | Promise<Admission>;
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

/** A refused request that came back early waits at most this long before it is asked about again. */
const MAX_HOLD_MS = 1_000;

/**
 * Holds each key to the Retry-After it was given. A key refused with 429
 * is told to come back in n seconds; when it comes back sooner and would
 * be refused again, its answer waits until then (at most MAX_HOLD_MS), and
 * the request is asked about once more. A client that ignores Retry-After
 * and retries in a loop then gets about one answer a second on each of its
 * connections, instead of as many refusals as the server can write: each
 * of those, however cheap, is time every other tenant's requests wait
 * behind. A request that fits is never held, and a client that honours
 * Retry-After never waits. The held requests of a key share one timer.
 */
export class RetryAfterHold implements PublishLimiter {
  /** Keys refused: when each may come back, and the timer its early requests wait on. */
  readonly #held = new Map<string, Hold>();
  readonly #clock: () => number;
  #sweptAt: number;

  constructor(
    readonly inner: PublishLimiter,
    clock: () => number = Date.now,
  ) {
    this.#clock = clock;
    this.#sweptAt = clock();
  }

  get enabled(): boolean {
    return this.inner.enabled;
  }

  check(who: string, bytes?: number): Admission | Promise<Admission> {
    return this.#asked(who, () => this.inner.check(who, bytes));
  }

  take(who: string, cost: number, bytes?: number): Admission | Promise<Admission> {
    return this.#asked(who, () => this.inner.take(who, cost, bytes));
  }

  message(retryAfterSec: number): string {
    return this.inner.message(retryAfterSec);
  }

  /** Asks the inner limiter; a refusal of a key that came back early waits out its Retry-After and asks again. */
  #asked(who: string, ask: () => Admission | Promise<Admission>): Admission | Promise<Admission> {
    const now = this.#clock();
    if (now - this.#sweptAt >= SWEEP_MS) this.#sweep(now);
    const hold = this.#held.get(who);
    const early = hold !== undefined && hold.until > now ? hold : undefined;
    const first = ask();
    // A request that fits, the usual case, is answered without a turn of waiting.
    if (!(first instanceof Promise) && (first.ok || early === undefined)) return this.#noted(who, first);
    return (async () => {
      let admission = await first;
      if (!admission.ok && early !== undefined) {
        await this.#passed(early);
        admission = await ask();
      }
      return this.#noted(who, admission);
    })();
  }

  /** Resolves when `hold` has passed, or MAX_HOLD_MS from its first early request; one timer for all of them. */
  #passed(hold: Hold): Promise<void> {
    hold.passed ??= new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(0, hold.until - this.#clock()), MAX_HOLD_MS)));
    return hold.passed;
  }

  #noted(who: string, admission: Admission): Admission {
    if (!admission.ok) this.#held.set(who, { until: this.#clock() + admission.retryAfterSec * 1000, passed: null });
    return admission;
  }

  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [who, hold] of this.#held) if (hold.until <= now) this.#held.delete(who);
  }
}

interface Hold {
  /** When the key was told to come back (clock ms). */
  until: number;
  /** The timer its early requests wait on, once one has come. */
  passed: Promise<void> | null;
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
