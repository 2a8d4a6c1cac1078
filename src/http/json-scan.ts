/**
 * A linear scan of JSON text that finds how deep it nests, and where the
 * values of a batch begin and end, without building anything. It runs
 * before JSON.parse so that hostile nesting (a million `[`) is refused in
 * one pass of a counter, never handed to the parser or to JSON.stringify
 * (whose recursion overflows the stack a few thousand levels down), and so
 * that each event of a batch can be parsed and checked on its own, in
 * slices that hand the event loop back. It does not validate: JSON.parse
 * still judges every value it lets through. NDJSON's twin is ndjson-scan.ts.
 */

import { BACKSLASH, CLOSE_CURLY, CLOSE_SQUARE, OPEN_CURLY, OPEN_SQUARE, QUOTE } from "./json-depth.js";

/** One value of a batch: its JSON text, or why it was set aside unparsed (its text is not kept). */
export type ScannedValue = { text: string } | { tooDeep: true } | { tooLong: number };

/** Splits a body into values as it streams in: feed each decoded chunk, then end(). */
export interface ValueScanner {
  /** The values completed so far, in order. */
  readonly values: ScannedValue[];
  /** Whether the body is a batch (a JSON array, or NDJSON) rather than one value. */
  readonly array: boolean;
  /** Scans the next piece of the body; throws ScanError when the batch's structure is broken. */
  feed(chunk: string): void;
  /** Ends the body, completing its last value. */
  end(): void;
}

export interface ScanLimits {
  /** Nesting allowed inside one value: a value with `[[1]]` nests 2 levels. */
  maxDepth: number;
  /** Characters of JSON text allowed for one value; a longer one is set aside without being parsed. */
  maxChars: number;
  /** Called for every value as it completes; may throw (a batch too large) to stop the scan. */
  onValue?: (value: ScannedValue, index: number) => void;
}

/** The text is not JSON in a way the scan can already tell (the batch's own brackets and commas). */
export class ScanError extends Error {}

const COMMA = 0x2c;

/** `text.indexOf(char, from)`, or the text's length when absent. */
function indexIn(text: string, char: string, from: number): number {
  const at = text.indexOf(char, from);
  return at < 0 ? text.length : at;
}

const isSpace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

const enum State {
  /** Before the first non-space character. */
  Start,
  /** Inside the top-level array, whose elements are the values. */
  Array,
  /** The body is one value (not an array). */
  Single,
  /** After the top-level array's closing bracket: only spaces may follow. */
  Done,
}

/**
 * Scans a JSON body as it streams in, splitting it into values: the
 * elements of a top-level array, or the body itself when it is not an
 * array. Every value is
 * measured against the limits while it is read; one that nests too deep or
 * is too long is reported as such and its text dropped. Work is linear in
 * the text and bounded per chunk.
 */
export class BatchScanner implements ValueScanner {
  readonly values: ScannedValue[] = [];
  /** Whether the JSON body is a top-level array (a batch) rather than one value. */
  array = false;

  readonly #limits: ScanLimits;
  // The scan's position in the text, carried from one chunk to the next (feed works on local copies: faster).
  #state: State;
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** Whether a value has begun (its first non-space character has been seen). */
  #inValue = false;
  /** In an array: a comma was read, so another element must follow before `]`. */
  #afterComma = false;
  /** Pieces of the current value; null once it is set aside. */
  #parts: string[] | null = [];
  #chars = 0;
  #problem: "deep" | "long" | null = null;

  constructor(limits: ScanLimits) {
    this.#limits = limits;
    this.#state = State.Start;
  }

  /** Scans the next piece of the body. Throws ScanError when the batch's structure is broken. */
  feed(chunk: string): void {
    const n = chunk.length;
    let state = this.#state;
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#escaped;
    let inValue = this.#inValue;
    // Where the current value began in this chunk (0 when it continues from an earlier chunk).
    let start = 0;
    // Nesting counts from the value, not from the batch's own array.
    let base = this.array ? 1 : 0;
    let maxDepth = this.#limits.maxDepth + base;
    // Most of a body is inside strings: jump through them with indexOf (native, fast) to the next character that
    // matters there. Each position is looked up again only once passed, so the scan stays linear.
    // (No closures here: a variable a closure captures lives on the heap, and this loop runs for every character.)
    let nextQuote = -1;
    let nextBackslash = -1;
    for (let i = 0; i < n; i++) {
      if (inString) {
        if (escaped) {
          escaped = false;
          continue;
        }
        if (nextQuote < i) nextQuote = indexIn(chunk, '"', i);
        if (nextBackslash < i) nextBackslash = indexIn(chunk, "\\", i);
        i = nextQuote < nextBackslash ? nextQuote : nextBackslash;
        if (i >= n) break;
        if (i === nextQuote) inString = false;
        else escaped = true;
        continue;
      }
      const code = chunk.charCodeAt(i);
      if (code === QUOTE) {
        if (!inValue) {
          if (state === State.Start) state = State.Single;
          else if (state === State.Done) throw new ScanError(`unexpected '"' after the end of the array`);
          inValue = true;
          this.#afterComma = false;
          start = i;
        }
        inString = true;
        continue;
      }
      if (!inValue && isSpace(code)) continue;
      if (state === State.Array && depth === 1) {
        if (code === COMMA) {
          if (!inValue) throw new ScanError("an element of the array is missing before a comma");
          this.#endValue(chunk, start, i);
          inValue = false;
          this.#afterComma = true;
          continue;
        }
        if (code === CLOSE_SQUARE) {
          if (inValue) this.#endValue(chunk, start, i);
          else if (this.#afterComma) throw new ScanError("an element of the array is missing before the closing bracket");
          inValue = false;
          depth = 0;
          state = State.Done;
          continue;
        }
        if (code === CLOSE_CURLY) throw new ScanError('unexpected "}" in the array');
      }
      if (!inValue) {
        if (state === State.Start) {
          if (code === OPEN_SQUARE) {
            state = State.Array;
            this.array = true;
            depth = base = 1;
            maxDepth = this.#limits.maxDepth + base;
            continue;
          }
          state = State.Single;
        } else if (state === State.Done) throw new ScanError(`unexpected "${chunk[i]}" after the end of the array`);
        inValue = true;
        this.#afterComma = false;
        start = i;
      }
      if (code === OPEN_SQUARE || code === OPEN_CURLY) {
        if (++depth > maxDepth && this.#problem === null) this.#setAside("deep");
      } else if (code === CLOSE_SQUARE || code === CLOSE_CURLY) {
        // An unbalanced close inside a value is left to JSON.parse; only the batch's own bracket is structure.
        if (depth > base) depth--;
      }
    }
    if (inValue) this.#take(chunk, start, n);
    this.#state = state;
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    this.#inValue = inValue;
  }

  /** Ends the body: completes the last value. Throws ScanError when the array was never closed. */
  end(): void {
    if (this.#state === State.Start) throw new ScanError("the body is empty");
    if (this.#state === State.Array) throw new ScanError("the array is not closed");
    if (this.#inValue) this.#complete();
    this.#inValue = false;
  }

  #setAside(problem: "deep" | "long"): void {
    this.#problem = problem;
    this.#parts = null;
  }

  /** Keeps `chunk[start, end)` as part of the current value, unless it is (or now becomes) too long to keep. */
  #take(chunk: string, start: number, end: number): void {
    this.#chars += end - start;
    if (this.#problem === null && this.#chars > this.#limits.maxChars) this.#setAside("long");
    if (this.#parts !== null) this.#parts.push(start === 0 && end === chunk.length ? chunk : chunk.slice(start, end));
  }

  /** The current value ends just before `end` in `chunk`. */
  #endValue(chunk: string, start: number, end: number): void {
    this.#take(chunk, start, end);
    this.#complete();
  }

  /** The current value is whole: records it (or why it was set aside) and starts afresh. */
  #complete(): void {
    const parts = this.#parts;
    const text = parts === null ? "" : parts.length === 1 ? parts[0] : parts.join("");
    const value: ScannedValue =
      this.#problem === "deep" ? { tooDeep: true } : this.#problem === "long" ? { tooLong: this.#chars } : { text };
    this.#parts = [];
    this.#chars = 0;
    this.#problem = null;
    this.values.push(value);
    this.#limits.onValue?.(value, this.values.length - 1);
  }
}
