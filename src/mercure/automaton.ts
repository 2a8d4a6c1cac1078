import { CharSet, MAX_UNIT } from "./char-set.js";
import type { Pattern } from "./pattern.js";

/**
 * A pattern compiled to a Thompson NFA and run as a lazily built DFA, the way
 * RE2 does: matching reads the input once, left to right, and never goes
 * back, so its time is linear in the input's length whatever the pattern
 * (`*a*a*a*b`, `{+a}x{+b}x…`): no backtracking, no catastrophic cases.
 *
 * Each DFA state is the set of NFA states the input so far can be in; its
 * transitions are computed on first use (O(NFA size)) and cached, so a
 * repeated match costs one table lookup per code unit. The cache is bounded
 * (DFA_CACHE_BYTES): when a pathological pattern visits more states than fit,
 * it is emptied and rebuilt as needed, which keeps memory bounded and the
 * time at worst O(input × NFA size), still linear in the input.
 */

export class AutomatonTooLarge extends Error {
  constructor(readonly max: number) {
    super(`compiles to more than ${max} automaton states`);
  }
}

/** Estimated bytes of cached DFA transitions per automaton before the cache is emptied. */
export const DFA_CACHE_BYTES = 64 * 1024;
/** Past this many character classes a DFA row is a Map of the transitions seen, not an array of all. */
const DENSE_ROW_CLASSES = 256;
const MAP_ENTRY_BYTES = 48;
/** What a DFA state costs besides its transitions: its row and set objects, its key and index entry. */
const STATE_BYTES = 200;

const CHAR = 0;
const SPLIT = 1;
const MATCH = 2;

export class Automaton {
  readonly stateCount: number;
  readonly #kind: Uint8Array;
  readonly #out1: Int32Array;
  readonly #out2: Int32Array;
  readonly #setOf: Int32Array;
  readonly #start: number;
  /** Which code units the automaton cannot tell apart share a class; the DFA's tables are per class. */
  readonly #classCount: number;
  readonly #asciiClass: Uint16Array;
  readonly #highStarts: number[];
  readonly #highClasses: number[];
  readonly #charSets: readonly CharSet[];
  /** A code unit of each class, to ask the char sets about the class. */
  readonly #representatives: number[];
  // Scratch for the epsilon closure.
  readonly #mark: Uint32Array;
  #generation = 0;
  // The DFA cache.
  #sets: number[][] = [];
  #isMatch: boolean[] = [];
  #rows: (Int32Array | Map<number, number>)[] = [];
  #index = new Map<string, number>();
  #cacheBytes = 0;
  /** The state of no NFA state: once there, nothing can match. */
  #dead = -1;
  #epoch = 0;
  #dfaStart = -1;

  constructor(pattern: Pattern, maxStates: number) {
    const built = new Builder(maxStates);
    const match = built.add(MATCH, -1, -1, -1);
    this.#start = built.build(pattern, match);
    this.stateCount = built.kind.length;
    this.#kind = Uint8Array.from(built.kind);
    this.#out1 = Int32Array.from(built.out1);
    this.#out2 = Int32Array.from(built.out2);
    this.#setOf = Int32Array.from(built.setOf);
    this.#mark = new Uint32Array(this.stateCount);

    const classes = partition(built.sets);
    this.#classCount = classes.count;
    this.#asciiClass = classes.ascii;
    this.#highStarts = classes.highStarts;
    this.#highClasses = classes.highClasses;
    this.#charSets = built.sets;
    this.#representatives = classes.representatives;
  }

  /** How many times the DFA cache was emptied for lack of room (for tests and benchmarks). */
  get cacheResets(): number {
    return this.#epoch;
  }

  /** Whether the whole input is in the language (anchored at both ends). */
  matches(input: string): boolean {
    if (this.#dfaStart < 0) this.#dfaStart = this.#intern(this.#closure([this.#start]));
    let state = this.#dfaStart;
    const ascii = this.#asciiClass;
    const dense = this.#classCount <= DENSE_ROW_CLASSES;
    for (let i = 0; i < input.length; i++) {
      const unit = input.charCodeAt(i);
      const cls = unit < 128 ? ascii[unit] : this.#highClass(unit);
      const row = this.#rows[state];
      let next = dense ? (row as Int32Array)[cls] : ((row as Map<number, number>).get(cls) ?? -1);
      if (next < 0) next = this.#step(state, cls);
      if (next === this.#dead) return false;
      state = next;
    }
    return this.#isMatch[state];
  }

  #highClass(unit: number): number {
    const starts = this.#highStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= unit) lo = mid;
      else hi = mid - 1;
    }
    return this.#highClasses[lo];
  }

  #step(state: number, cls: number): number {
    const unit = this.#representatives[cls];
    const seeds: number[] = [];
    for (const s of this.#sets[state]) {
      if (this.#kind[s] === CHAR && this.#charSets[this.#setOf[s]].has(unit)) seeds.push(this.#out1[s]);
    }
    const set = this.#closure(seeds);
    const epoch = this.#epoch;
    const next = this.#intern(set);
    // An emptied cache renumbered the states: the old row is gone, and the caller continues from `next`.
    if (epoch !== this.#epoch) return next;
    const row = this.#rows[state];
    if (row instanceof Int32Array) {
      row[cls] = next;
    } else {
      row.set(cls, next);
      this.#cacheBytes += MAP_ENTRY_BYTES;
    }
    return next;
  }

  #intern(set: number[]): number {
    const key = set.join(",");
    const known = this.#index.get(key);
    if (known !== undefined) return known;
    if (this.#cacheBytes >= DFA_CACHE_BYTES) {
      this.#sets = [];
      this.#isMatch = [];
      this.#rows = [];
      this.#index = new Map();
      this.#cacheBytes = 0;
      this.#dead = -1;
      this.#epoch++;
      this.#dfaStart = -1;
      const id = this.#add(key, set);
      this.#dfaStart = this.#intern(this.#closure([this.#start]));
      return id;
    }
    return this.#add(key, set);
  }

  #add(key: string, set: number[]): number {
    const id = this.#sets.length;
    this.#sets.push(set);
    this.#isMatch.push(set.some((s) => this.#kind[s] === MATCH));
    if (set.length === 0) this.#dead = id;
    const dense = this.#classCount <= DENSE_ROW_CLASSES;
    this.#rows.push(dense ? new Int32Array(this.#classCount).fill(-1) : new Map());
    this.#cacheBytes += STATE_BYTES + (dense ? this.#classCount * 4 : 0) + set.length * 8 + key.length * 2;
    this.#index.set(key, id);
    return id;
  }

  /** The CHAR and MATCH states reachable from the seeds without reading input, sorted (a DFA state's identity). */
  #closure(seeds: number[]): number[] {
    const generation = ++this.#generation;
    if (generation === 0xffffffff) {
      this.#mark.fill(0);
      this.#generation = 1;
    }
    const g = this.#generation;
    const out: number[] = [];
    const stack = seeds.slice();
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (this.#mark[s] === g) continue;
      this.#mark[s] = g;
      if (this.#kind[s] === SPLIT) {
        stack.push(this.#out2[s], this.#out1[s]);
      } else {
        out.push(s);
      }
    }
    return out.sort((a, b) => a - b);
  }
}

/** Thompson's construction, built backwards: each piece is given the state that follows it. */
class Builder {
  readonly kind: number[] = [];
  readonly out1: number[] = [];
  readonly out2: number[] = [];
  readonly setOf: number[] = [];
  readonly sets: CharSet[] = [];
  readonly #setIds = new Map<string | number, number>();

  constructor(private readonly maxStates: number) {}

  add(kind: number, out1: number, out2: number, set: number): number {
    if (this.kind.length >= this.maxStates) throw new AutomatonTooLarge(this.maxStates);
    this.kind.push(kind);
    this.out1.push(out1);
    this.out2.push(out2);
    this.setOf.push(set);
    return this.kind.length - 1;
  }

  build(p: Pattern, next: number): number {
    switch (p.kind) {
      case "set":
        return this.add(CHAR, next, -1, this.#setId(p.set));
      case "seq": {
        let at = next;
        for (let i = p.items.length - 1; i >= 0; i--) at = this.build(p.items[i], at);
        return at;
      }
      case "alt": {
        if (p.options.length === 0) return this.add(CHAR, next, -1, this.#setId(CharSet.EMPTY));
        let at = this.build(p.options[p.options.length - 1], next);
        for (let i = p.options.length - 2; i >= 0; i--) at = this.add(SPLIT, this.build(p.options[i], next), at, -1);
        return at;
      }
      case "repeat": {
        let at = next;
        if (p.max === Infinity) {
          const loop = this.add(SPLIT, -1, next, -1);
          this.out1[loop] = this.build(p.item, loop);
          at = loop;
        } else {
          // x{0,k} as k nested options, each one either done or one more x.
          for (let i = 0; i < p.max - p.min; i++) at = this.add(SPLIT, this.build(p.item, at), next, -1);
        }
        for (let i = 0; i < p.min; i++) at = this.build(p.item, at);
        return at;
      }
    }
  }

  #setId(set: CharSet): number {
    const r = set.ranges;
    // A literal character's set is one code unit: its number is its key (most sets are such).
    const key = r.length === 2 && r[0] === r[1] ? r[0] : r.join(",");
    let id = this.#setIds.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(set);
      this.#setIds.set(key, id);
    }
    return id;
  }
}

interface Classes {
  count: number;
  representatives: number[];
  ascii: Uint16Array;
  highStarts: number[];
  highClasses: number[];
}

/**
 * Splits the code units into classes no set of the automaton tells apart,
 * so the DFA's rows have a few entries, not 65,536: the boundaries of all
 * the sets' ranges cut the code units into intervals, and each set in turn
 * splits the classes it covers part of (partition refinement). The work is
 * the intervals each set covers, summed: linear for the literal characters
 * of a pattern (one interval each), so compiling a long pattern stays cheap.
 */
function partition(sets: readonly CharSet[]): Classes {
  // The cuts as a bitmap over the code units, read back in order: no sort, whatever the number of sets.
  const bits = new Uint32Array((MAX_UNIT + 1) / 32);
  const cut = (unit: number) => (bits[unit >>> 5] |= 1 << (unit & 31));
  cut(0);
  cut(128);
  for (const set of sets) {
    const r = set.ranges;
    for (let k = 0; k < r.length; k += 2) {
      cut(r[k]);
      if (r[k + 1] < MAX_UNIT) cut(r[k + 1] + 1);
    }
  }
  const starts: number[] = [];
  for (let w = 0; w < bits.length; w++) {
    for (let word = bits[w]; word !== 0; word &= word - 1) starts.push(w * 32 + 31 - Math.clz32(word & -word));
  }
  const indexOf = (unit: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] < unit) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const classOf = new Int32Array(starts.length);
  // Per class: the last set that split it, and the class its covered part went to (arrays, not a Map per set).
  const splitBy: number[] = [-1];
  const splitTo: number[] = [0];
  sets.forEach((set, s) => {
    const r = set.ranges;
    for (let k = 0; k < r.length; k += 2) {
      for (let i = indexOf(r[k]); i < starts.length && starts[i] <= r[k + 1]; i++) {
        const from = classOf[i];
        if (splitBy[from] !== s) {
          splitBy[from] = s;
          splitTo[from] = splitBy.length;
          splitBy.push(-1);
          splitTo.push(0);
        }
        classOf[i] = splitTo[from];
      }
    }
  });
  // Number the classes left densely, in order of their first interval.
  const dense = new Int32Array(splitBy.length).fill(-1);
  const representatives: number[] = [];
  const intervalClass = new Int32Array(starts.length);
  for (let i = 0; i < starts.length; i++) {
    if (dense[classOf[i]] < 0) {
      dense[classOf[i]] = representatives.length;
      representatives.push(starts[i]);
    }
    intervalClass[i] = dense[classOf[i]];
  }
  const ascii = new Uint16Array(128);
  let interval = 0;
  for (let unit = 0; unit < 128; unit++) {
    while (interval + 1 < starts.length && starts[interval + 1] <= unit) interval++;
    ascii[unit] = intervalClass[interval];
  }
  const highStarts: number[] = [];
  const highClasses: number[] = [];
  for (let i = 0; i < starts.length; i++) {
    if (starts[i] >= 128 && (highClasses.length === 0 || highClasses[highClasses.length - 1] !== intervalClass[i])) {
      highStarts.push(starts[i]);
      highClasses.push(intervalClass[i]);
    }
  }
  return { count: representatives.length, representatives, ascii, highStarts, highClasses };
}
