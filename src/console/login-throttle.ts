import { RateLimiter, type Admission } from "../http/rate-limit.js";
import { addressGroup } from "../http/client-address.js";

export interface LoginThrottleOptions {
  /** Failed sign-ins one address may make in a row; 0 turns the throttle off. */
  failures: number;
  /** The time in which that many failures are forgiven again (ms), one at a time. */
  windowMs: number;
  clock?: () => number;
}

/**
 * Failed console sign-ins, per client address (an IPv6 /64): a token bucket
 * of `failures` that refills over `windowMs`. Only failures spend it; once
 * it is empty, every sign-in from that address gets 429 with Retry-After —
 * a correct key too, or each 429 would still tell a guesser which keys are
 * wrong. Other addresses are not affected, so an attacker elsewhere never
 * locks the rightful operator out; one sharing their address delays them
 * by at most `windowMs / failures` per attempt.
 */
export class LoginThrottle {
  readonly #limiter: RateLimiter;

  constructor(private readonly options: LoginThrottleOptions) {
    this.#limiter = new RateLimiter({ ratePerSec: (options.failures * 1000) / options.windowMs, burst: Math.max(1, options.failures), clock: options.clock });
  }

  /** Whether a sign-in from `address` may be tried now. */
  check(address: string): Admission {
    return this.#limiter.check(addressGroup(address));
  }

  failed(address: string): void {
    this.#limiter.take(addressGroup(address), 1);
  }

  message(retryAfterSec: number): string {
    return (
      `Too many failed sign-ins from your address (${this.options.failures} allowed per ${duration(this.options.windowMs)}). ` +
      `Try again in ${retryAfterSec} s.`
    );
  }
}

const duration = (ms: number): string => (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);
