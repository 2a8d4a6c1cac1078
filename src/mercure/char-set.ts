/**
 * Sets of UTF-16 code units, as the automaton reads topics one code unit at a
 * time. Every class the selectors need (a URI template's unreserved and
 * reserved characters, a URL pattern's "anything but `/`", `\d`, `[a-f]`…)
 * is a handful of ranges, and a literal character is a range of one.
 */

/** The largest UTF-16 code unit. */
export const MAX_UNIT = 0xffff;

export class CharSet {
  /** Sorted, disjoint, non-adjacent inclusive ranges, flattened: [lo0, hi0, lo1, hi1, …]. */
  readonly ranges: readonly number[];

  private constructor(ranges: readonly number[]) {
    this.ranges = ranges;
  }

  static readonly EMPTY = new CharSet([]);
  static readonly ANY = new CharSet([0, MAX_UNIT]);

  /** Normalises any list of inclusive ranges (unsorted, overlapping) into a set. */
  static ofRanges(pairs: readonly (readonly [number, number])[]): CharSet {
    const sorted = pairs.filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
    const out: number[] = [];
    for (const [lo, hi] of sorted) {
      const last = out.length - 1;
      if (last > 0 && lo <= out[last] + 1) out[last] = Math.max(out[last], hi);
      else out.push(lo, hi);
    }
    return new CharSet(out);
  }

  /** The code units of `chars`, each on its own (for ASCII lists such as "-._~"). */
  static of(chars: string): CharSet {
    return CharSet.ofRanges([...chars].map((c) => [c.charCodeAt(0), c.charCodeAt(0)] as const));
  }

  static unit(code: number): CharSet {
    return new CharSet([code, code]);
  }

  static range(lo: number, hi: number): CharSet {
    return CharSet.ofRanges([[lo, hi]]);
  }

  union(...others: CharSet[]): CharSet {
    return CharSet.ofRanges([this, ...others].flatMap((set) => set.pairs()));
  }

  /** Every code unit not in this set. */
  negate(): CharSet {
    const out: [number, number][] = [];
    let next = 0;
    for (const [lo, hi] of this.pairs()) {
      if (lo > next) out.push([next, lo - 1]);
      next = hi + 1;
    }
    if (next <= MAX_UNIT) out.push([next, MAX_UNIT]);
    return CharSet.ofRanges(out);
  }

  has(code: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) {
      if (code < r[i]) return false;
      if (code <= r[i + 1]) return true;
    }
    return false;
  }

  pairs(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.ranges.length; i += 2) out.push([this.ranges[i], this.ranges[i + 1]]);
    return out;
  }
}
