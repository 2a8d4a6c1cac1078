import { describe, expect, it } from "vitest";
import { RateLimiter } from "../src/http/rate-limit.js";

/** A limiter on a clock the test moves by hand. */
function limiter(ratePerSec: number, burst: number) {
  const clock = { now: 1_000_000 };
  const rate = new RateLimiter({ ratePerSec, burst, clock: () => clock.now });
  return { rate, advance: (ms: number) => (clock.now += ms), clock };
}

describe("RateLimiter", () => {
  it("lets a key spend its burst at once, then refuses with the whole seconds until enough has refilled", () => {
    const { rate, advance } = limiter(10, 100);
    expect(rate.take("k", 60)).toEqual({ ok: true });
    expect(rate.take("k", 40)).toEqual({ ok: true });
    // Empty: one event needs 0.1 s, which is rounded up to a whole second.
    expect(rate.take("k", 1)).toEqual({ ok: false, retryAfterSec: 1 });
    // 25 events need 2.5 s: Retry-After says 3.
    expect(rate.take("k", 25)).toEqual({ ok: false, retryAfterSec: 3 });
    advance(2_400);
    expect(rate.take("k", 25)).toEqual({ ok: false, retryAfterSec: 1 });
    advance(100);
    expect(rate.take("k", 25)).toEqual({ ok: true });
  });

  it("counts a batch of n as n events, and a refused batch spends nothing", () => {
    const { rate } = limiter(1, 10);
    expect(rate.take("k", 8)).toEqual({ ok: true });
    expect(rate.take("k", 3).ok).toBe(false);
    expect(rate.take("k", 2)).toEqual({ ok: true });
    expect(rate.take("k", 1).ok).toBe(false);
  });

  it("never refills past the burst, however long the key was idle", () => {
    const { rate, advance } = limiter(100, 50);
    advance(3_600_000);
    expect(rate.take("k", 50)).toEqual({ ok: true });
    expect(rate.take("k", 1).ok).toBe(false);
  });

  it("lets a batch larger than the burst through on a full bucket, and makes the key pay for it afterwards", () => {
    const { rate, advance } = limiter(10, 100);
    expect(rate.take("k", 250)).toEqual({ ok: true });
    // 150 events of debt, then one more: 15.1 s.
    expect(rate.take("k", 1)).toEqual({ ok: false, retryAfterSec: 16 });
    // The big batch again needs a full bucket: 25 s from now.
    expect(rate.take("k", 250)).toEqual({ ok: false, retryAfterSec: 25 });
    advance(25_000);
    expect(rate.take("k", 250)).toEqual({ ok: true });
  });

  it("keeps one allowance per key: one key's flood leaves the others theirs", () => {
    const { rate } = limiter(1, 5);
    expect(rate.take("flood", 5)).toEqual({ ok: true });
    expect(rate.take("flood", 1).ok).toBe(false);
    expect(rate.take("quiet", 5)).toEqual({ ok: true });
  });

  it("check() asks without spending, so an exhausted key is refused before its body is read", () => {
    const { rate } = limiter(1, 3);
    expect(rate.check("k")).toEqual({ ok: true });
    expect(rate.take("k", 3)).toEqual({ ok: true });
    expect(rate.check("k")).toEqual({ ok: false, retryAfterSec: 1 });
    expect(rate.check("other")).toEqual({ ok: true });
    expect(rate.tracked).toBe(1);
  });

  it("check() expects a refused batch back, so a flood's bodies are not read only to be refused", () => {
    const { rate, advance } = limiter(10, 100);
    expect(rate.take("k", 100, 10_000)).toEqual({ ok: true });
    advance(500);
    // Five events refilled: a batch of 50 (5,000 bytes) is refused once its size is known...
    expect(rate.check("k", 5_000)).toEqual({ ok: true });
    expect(rate.take("k", 50, 5_000)).toEqual({ ok: false, retryAfterSec: 5 });
    // ...and from then on a body of its size before it is read, until 50 events have refilled.
    expect(rate.check("k", 5_000)).toEqual({ ok: false, retryAfterSec: 5 });
    advance(4_400);
    expect(rate.check("k", 5_000)).toEqual({ ok: false, retryAfterSec: 1 });
    // A smaller body is expected to cost less (here four events, which have refilled), and is read.
    expect(rate.check("k", 400)).toEqual({ ok: true });
    // A body of unknown size (chunked), or of any size once the refused batch has passed, is expected to cost one.
    expect(rate.check("k")).toEqual({ ok: true });
    advance(100);
    expect(rate.check("k", 5_000)).toEqual({ ok: true });
    expect(rate.take("k", 50, 5_000)).toEqual({ ok: true });
    advance(100);
    expect(rate.check("k", 5_000)).toEqual({ ok: true });
    expect(rate.take("k", 1, 5_000)).toEqual({ ok: true });
  });

  it("is off at rate 0: everything passes and nothing is tracked", () => {
    const { rate } = limiter(0, 1);
    expect(rate.enabled).toBe(false);
    for (let i = 0; i < 100; i++) expect(rate.take("k", 1_000_000)).toEqual({ ok: true });
    expect(rate.tracked).toBe(0);
  });

  it("forgets keys whose bucket has refilled, so memory follows the active keys only", () => {
    const { rate, advance } = limiter(10, 10);
    for (let i = 0; i < 100; i++) rate.take(`k${i}`, 10);
    expect(rate.tracked).toBe(100);
    advance(61_000);
    rate.take("fresh", 1);
    expect(rate.tracked).toBe(1);
  });

  it("neither mints nor takes tokens when the clock steps back", () => {
    const { rate, clock } = limiter(10, 10);
    expect(rate.take("k", 10)).toEqual({ ok: true });
    clock.now -= 60_000;
    expect(rate.take("k", 1).ok).toBe(false);
    clock.now += 500;
    expect(rate.take("k", 5)).toEqual({ ok: true });
  });

  it("names the limits and the wait in its message", () => {
    const { rate } = limiter(1000, 50_000);
    expect(rate.message(3)).toMatch(/1000 events per second.*50000.*PUBLISH_RATE_PER_KEY.*retry in 3 s/);
  });
});
