import { bracketsAtMost, jsonDepth } from "./json-depth.js";
import type { ScanLimits, ScannedValue, ValueScanner } from "./json-scan.js";

/**
 * Splits an NDJSON body into its non-blank lines as it streams in, each
 * measured against the limits. Lines are found with indexOf, and a line's
 * depth is only scanned when it holds more brackets than the limit, so the
 * common case costs next to nothing beyond JSON.parse.
 */
export class LineScanner implements ValueScanner {
  readonly values: ScannedValue[] = [];
  readonly array = true;
  readonly #limits: ScanLimits;
  /** The current line's pieces from earlier chunks; null once it is too long to keep. */
  #parts: string[] | null = [];
  #chars = 0;

  constructor(limits: ScanLimits) {
    this.#limits = limits;
  }

  feed(chunk: string): void {
    let start = 0;
    for (let end = chunk.indexOf("\n"); end >= 0; end = chunk.indexOf("\n", start)) {
      this.#complete(chunk.slice(start, end));
      start = end + 1;
    }
    if (start < chunk.length) this.#take(start === 0 ? chunk : chunk.slice(start));
  }

  end(): void {
    this.#complete("");
  }

  #take(piece: string): void {
    this.#chars += piece.length;
    if (this.#chars > this.#limits.maxChars) this.#parts = null;
    else this.#parts?.push(piece);
  }

  /** The line ends with `last`; most lines lie within one chunk and need no pieces joined (nor an array each). */
  #complete(last: string): void {
    const parts = this.#parts;
    const chars = this.#chars + last.length;
    let value: ScannedValue;
    if (parts === null || chars > this.#limits.maxChars) {
      value = { tooLong: chars };
      this.#parts = [];
    } else {
      const text = (parts.length === 0 ? last : parts.join("") + last).trim();
      if (parts.length > 0) this.#parts = [];
      this.#chars = 0;
      if (text === "") return;
      const max = this.#limits.maxDepth;
      value = bracketsAtMost(text, max) || jsonDepth(text, max) <= max ? { text } : { tooDeep: true };
    }
    this.#chars = 0;
    this.values.push(value);
    this.#limits.onValue?.(value, this.values.length - 1);
  }
}
