/**
 * A log-bucketed latency histogram: fixed size, cheap to record into on the
 * hot path of a load client, and mergeable across processes by adding
 * counts. 32 buckets per doubling gives about 2% resolution, plenty for
 * p50/p99 of a loopback benchmark.
 */

const PER_DOUBLING = 32;
/** Up to 2^34 µs (about 4.8 hours): nothing in a bounded bench gets near it. */
const BUCKETS = 34 * PER_DOUBLING + 1;

/** Sparse form for IPC and JSON: [bucket, count] pairs. */
export type HistogramData = { buckets: [number, number][]; count: number; negative: number; maxUs: number };

export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  count = 0;
  /** Samples below zero (clock skew between processes), recorded as 0. */
  negative = 0;
  maxUs = 0;

  record(us: number): void {
    if (!(us >= 0)) {
      this.negative++;
      us = 0;
    }
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log2(us + 1) * PER_DOUBLING));
    this.#counts[i]++;
    this.count++;
    if (us > this.maxUs) this.maxUs = us;
  }

  merge(other: HistogramData): void {
    for (const [i, n] of other.buckets) this.#counts[i] += n;
    this.count += other.count;
    this.negative += other.negative;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** The q-quantile in µs (bucket midpoint), or NaN when empty. */
  quantileUs(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(this.maxUs, 2 ** ((i + 0.5) / PER_DOUBLING) - 1);
    }
    return this.maxUs;
  }

  toData(): HistogramData {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.#counts[i] > 0) buckets.push([i, this.#counts[i]]);
    return { buckets, count: this.count, negative: this.negative, maxUs: this.maxUs };
  }

  static from(parts: readonly HistogramData[]): Histogram {
    const h = new Histogram();
    for (const p of parts) h.merge(p);
    return h;
  }
}

/** Wall-clock time in ms with sub-ms precision, comparable across processes on one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}
