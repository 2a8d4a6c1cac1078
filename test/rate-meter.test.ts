import { describe, expect, it } from "vitest";
import { RateMeter } from "../src/console/rate-meter.js";

describe("RateMeter", () => {
  it("counts a tenant's events over the window, per second, and forgets older ones", () => {
    let now = 1_000_000;
    const meter = new RateMeter(60, () => now);
    now += 30_000;
    meter.record([{ tenant: "a" }, { tenant: "a" }, { tenant: "b" }]);
    now += 30_000;
    meter.record(Array.from({ length: 4 }, () => ({ tenant: "a" })));
    // 60 s since start: six of a's events over 60 s.
    expect(meter.rate("a")).toEqual({ count: 6, perSecond: 0.1, windowS: 60 });
    expect(meter.rate("b").count).toBe(1);
    expect(meter.rate("c")).toEqual({ count: 0, perSecond: 0, windowS: 60 });
    // 31 s later the first second has left the window; its ring slot is reused without leaking old counts.
    now += 31_000;
    expect(meter.rate("a").count).toBe(4);
    meter.record([{ tenant: "a" }]);
    expect(meter.rate("a").count).toBe(5);
    now += 120_000;
    expect(meter.rate("a").count).toBe(0);
  });

  it("divides by the time since start while that is shorter than the window", () => {
    let now = 5_000;
    const meter = new RateMeter(60, () => now);
    now += 10_000;
    meter.record(Array.from({ length: 20 }, () => ({ tenant: "a" })));
    expect(meter.rate("a")).toEqual({ count: 20, perSecond: 2, windowS: 10 });
  });
});
