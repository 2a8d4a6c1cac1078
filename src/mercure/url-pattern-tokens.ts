/**
 * The URL Pattern standard's tokenizer ("Tokenizing"), step for step. The
 * constructor string parser reads the whole pattern with the lenient policy
 * (a bad character becomes an `invalid-char` token); each component is then
 * tokenized again with the strict policy, where the same character is an
 * error. Positions are in code points, as in the standard.
 */

export class PatternSyntaxError extends Error {}

export type TokenType =
  | "open"
  | "close"
  | "regexp"
  | "name"
  | "char"
  | "escaped-char"
  | "other-modifier"
  | "asterisk"
  | "end"
  | "invalid-char";

export interface Token {
  readonly type: TokenType;
  /** Position of its first code point in the input. */
  readonly index: number;
  readonly value: string;
}

const ID_START = /^[\p{ID_Start}$_]$/u;
const ID_PART = /^[\p{ID_Continue}$\u200C\u200D]$/u;

export function tokenize(input: string, policy: "strict" | "lenient"): Token[] {
  const points = Array.from(input);
  const tokens: Token[] = [];
  let index = 0;
  let nextIndex = 0;
  let point = "";
  const next = () => {
    point = points[nextIndex];
    nextIndex++;
  };
  const seek = (at: number) => {
    nextIndex = at;
    next();
  };
  const add = (type: TokenType, nextPosition: number, valuePosition: number, valueLength: number) => {
    tokens.push({ type, index, value: points.slice(valuePosition, valuePosition + valueLength).join("") });
    index = nextPosition;
  };
  const addSpan = (type: TokenType, nextPosition: number, valuePosition: number) =>
    add(type, nextPosition, valuePosition, nextPosition - valuePosition);
  const addOne = (type: TokenType) => addSpan(type, nextIndex, index);
  const error = (nextPosition: number, valuePosition: number, reason: string) => {
    if (policy === "strict") throw new PatternSyntaxError(`${reason} (at character ${index + 1})`);
    addSpan("invalid-char", nextPosition, valuePosition);
  };

  while (index < points.length) {
    seek(index);
    if (point === "*") {
      addOne("asterisk");
    } else if (point === "+" || point === "?") {
      addOne("other-modifier");
    } else if (point === "\\") {
      if (index === points.length - 1) {
        error(nextIndex, index, "a backslash at the end escapes nothing");
        continue;
      }
      const escapedIndex = nextIndex;
      next();
      addSpan("escaped-char", nextIndex, escapedIndex);
    } else if (point === "{") {
      addOne("open");
    } else if (point === "}") {
      addOne("close");
    } else if (point === ":") {
      let namePosition = nextIndex;
      const nameStart = namePosition;
      while (namePosition < points.length) {
        seek(namePosition);
        if (!(namePosition === nameStart ? ID_START : ID_PART).test(point)) break;
        namePosition = nextIndex;
      }
      if (namePosition <= nameStart) {
        error(nameStart, index, `":" must be followed by a group name (escape it as "\\:" for a literal colon)`);
        continue;
      }
      addSpan("name", namePosition, nameStart);
    } else if (point === "(") {
      readRegexp();
    } else {
      addOne("char");
    }
  }
  addSpan("end", index, index);
  return tokens;

  function readRegexp(): void {
    let depth = 1;
    let position = nextIndex;
    const start = position;
    while (position < points.length) {
      seek(position);
      if (point.codePointAt(0)! > 0x7f) return error(start, index, "a regular expression group may only contain ASCII characters");
      if (position === start && point === "?") return error(start, index, `a regular expression group cannot start with "?"`);
      if (point === "\\") {
        if (position === points.length - 1) return error(start, index, "a regular expression group ends with a backslash");
        next();
        if (point.codePointAt(0)! > 0x7f) return error(start, index, "a regular expression group may only contain ASCII characters");
        position = nextIndex;
        continue;
      }
      if (point === ")") {
        depth--;
        if (depth === 0) {
          position = nextIndex;
          break;
        }
      } else if (point === "(") {
        depth++;
        if (position === points.length - 1) return error(start, index, "unbalanced parentheses in a regular expression group");
        const after = nextIndex;
        next();
        if ((point as string) !== "?") return error(start, index, `a group inside a regular expression must be non-capturing: "(?:…)"`);
        nextIndex = after;
      }
      position = nextIndex;
    }
    if (depth !== 0) return error(start, index, "unbalanced parentheses in a regular expression group");
    const length = position - start - 1;
    if (length === 0) return error(start, index, "empty regular expression group \"()\"");
    add("regexp", position, start, length);
  }
}
