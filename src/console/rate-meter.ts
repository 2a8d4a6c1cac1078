/**
 * Events per second per tenant over a sliding window, counted in memory as
 * events commit (fed by the log's commit listener): one counter per second
 * in a ring, so recording is O(1) and reading is O(window), with no query
 * on the log. It starts empty: a fresh server reports the rate since start.
 */
export class RateMeter {
  readonly #rings = new Map<string, { seconds: Float64Array; counts: Uint32Array }>();
  readonly #since: number;

  constructor(
    /** Window length in seconds; default 60. */
    readonly windowS = 60,
    private readonly clock: () => number = Date.now,
  ) {
    this.#since = clock();
  }

  record(events: readonly { tenant: string }[]): void {
    const second = Math.floor(this.clock() / 1000);
    const slot = second % this.windowS;
    for (const e of events) {
      let ring = this.#rings.get(e.tenant);
      if (!ring) this.#rings.set(e.tenant, (ring = { seconds: new Float64Array(this.windowS).fill(-1), counts: new Uint32Array(this.windowS) }));
      if (ring.seconds[slot] !== second) {
        ring.seconds[slot] = second;
        ring.counts[slot] = 0;
      }
      ring.counts[slot]++;
    }
  }

  /** The tenant's events in the window, and per second over the window (or over the time since start, when shorter). */
  rate(tenant: string): { count: number; perSecond: number; windowS: number } {
    const now = this.clock();
    const second = Math.floor(now / 1000);
    const windowS = Math.max(1, Math.min(this.windowS, (now - this.#since) / 1000));
    let count = 0;
    const ring = this.#rings.get(tenant);
    if (ring) {
      for (let i = 0; i < this.windowS; i++) if (second - ring.seconds[i] < this.windowS) count += ring.counts[i];
    }
    return { count, perSecond: count / windowS, windowS: Math.round(windowS) };
  }
}
