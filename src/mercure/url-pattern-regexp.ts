import { CharSet } from "./char-set.js";
import { alt, chars, literal, repeat, seq, type Pattern } from "./pattern.js";
import { PatternSyntaxError } from "./url-pattern-tokens.js";

/**
 * Custom regular expression groups of URL patterns (`:id(\d+)`, `(foo|bar)`,
 * `([a-z]{2,8})`), read as the standard reads them (JavaScript syntax with
 * the `v` flag) but only the part of that syntax that is a regular language,
 * which the automaton matches in linear time:
 *
 *   supported  literal characters, `.`, `\d \D \w \W \s \S`, `\t \n \r \f \v
 *              \0 \cX \xHH \uHHHH \u{H…}`, escaped syntax characters, classes
 *              `[…]` and `[^…]` with ranges and those escapes, groups `(?:…)`
 *              and `(?<name>…)`, alternation `|`, quantifiers `* + ? {n}
 *              {n,} {n,m}` (greedy or lazy: the same for a yes/no match)
 *   refused    anchors `^ $ \b \B`, look-arounds, back-references, `\p{…}`,
 *              nested classes and class set operations (`&&`, `--`, `\q{}`),
 *              inline modifiers, and repetition counts above MAX_REPEAT
 *
 * A refused feature is a SelectorError naming it, never a slow match: the
 * alternative (running the pattern in V8's backtracking engine) is what the
 * Mercure 1.0 "URL-Pattern Denial of Service" section warns against.
 */

/** Largest count in `{n}`, `{n,}`, `{n,m}`: each count copies the repeated piece into the automaton. */
export const MAX_REPEAT = 100;

const DIGIT = CharSet.range(0x30, 0x39);
const WORD = CharSet.ofRanges([
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]);
const SPACE = CharSet.ofRanges([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
/** `.` without the `s` flag: any code unit but the line terminators. */
export const DOT = CharSet.of("\n\r\u2028\u2029").negate();
const CLASS_ESCAPES: Record<string, CharSet> = {
  d: DIGIT,
  D: DIGIT.negate(),
  w: WORD,
  W: WORD.negate(),
  s: SPACE,
  S: SPACE.negate(),
};
const CONTROL_ESCAPES: Record<string, number> = { t: 9, n: 10, v: 11, f: 12, r: 13 };
const SYNTAX = "^$\\.*+?()[]{}|/";
/** Characters the `v` flag reserves inside a class unless escaped. */
const CLASS_SYNTAX = "()[]{}/-\\|";
const DOUBLE_PUNCTUATORS = "&!#$%*+,.:;<=>?@^`~";
const CLASS_PUNCTUATOR_ESCAPES = "&-!#%,:;<=>@`~";

const REPETITION = /\{(\d+)(,(\d*))?\}/y;
const GROUP_NAME = /\?<([A-Za-z_$][\w$]*)>/y;
const TWO_HEX = /[0-9A-Fa-f]{2}/y;
const FOUR_HEX = /[0-9A-Fa-f]{4}/y;
const BRACED_HEX = /\{([0-9A-Fa-f]{1,6})\}/y;

export function parseGroupRegexp(source: string): Pattern {
  return new RegexpParser(source).parse();
}

class RegexpParser {
  #at = 0;

  constructor(private readonly source: string) {}

  parse(): Pattern {
    const pattern = this.#disjunction();
    if (this.#at < this.source.length) this.#fail(`unmatched ")"`);
    return pattern;
  }

  #fail(reason: string): never {
    throw new PatternSyntaxError(`regular expression "${this.source}": ${reason}`);
  }

  #refuse(feature: string): never {
    this.#fail(`${feature} is not supported (groups may use characters, ".", classes, escapes such as \\d, "(?:…)", "|" and quantifiers)`);
  }

  #peek(offset = 0): string | undefined {
    return this.source[this.#at + offset];
  }

  /** The sticky expression's match right here, consumed, or null. */
  #read(sticky: RegExp): RegExpExecArray | null {
    sticky.lastIndex = this.#at;
    const match = sticky.exec(this.source);
    if (match !== null) this.#at += match[0].length;
    return match;
  }

  #startsWith(text: string): boolean {
    return this.source.startsWith(text, this.#at);
  }

  #disjunction(): Pattern {
    const options = [this.#alternative()];
    while (this.#peek() === "|") {
      this.#at++;
      options.push(this.#alternative());
    }
    return alt(...options);
  }

  #alternative(): Pattern {
    const items: Pattern[] = [];
    while (this.#at < this.source.length && this.#peek() !== "|" && this.#peek() !== ")") items.push(this.#term());
    return seq(...items);
  }

  #term(): Pattern {
    const atom = this.#atom();
    const c = this.#peek();
    let min: number;
    let max: number;
    if (c === "*" || c === "+" || c === "?") {
      this.#at++;
      [min, max] = c === "*" ? [0, Infinity] : c === "+" ? [1, Infinity] : [0, 1];
    } else if (c === "{") {
      const bounds = this.#read(REPETITION);
      if (bounds === null) this.#fail(`"{" must be escaped when it does not start a repetition such as {2,5}`);
      min = Number(bounds[1]);
      max = bounds[2] === undefined ? min : bounds[3] === "" ? Infinity : Number(bounds[3]);
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) this.#refuse(`a repetition count above ${MAX_REPEAT}`);
      if (min > max) this.#fail(`the repetition ${bounds[0]} has its numbers out of order`);
    } else {
      return atom;
    }
    if (this.#peek() === "?") this.#at++; // lazy: the same language
    return repeat(atom, min, max);
  }

  #atom(): Pattern {
    const c = this.source[this.#at++];
    switch (c) {
      case "^":
      case "$":
        return this.#refuse(`the anchor "${c}"`);
      case ".":
        return chars(DOT);
      case "(":
        return this.#group();
      case "[":
        return chars(this.#class());
      case "\\":
        return this.#escape();
      case "*":
      case "+":
      case "?":
        return this.#fail(`"${c}" has nothing to repeat`);
      case "{":
        return this.#fail(`"{" has nothing to repeat (escape it as "\\{")`);
      case "}":
      case "]":
        return this.#fail(`"${c}" must be escaped`);
      default:
        return literal(c);
    }
  }

  #group(): Pattern {
    // The tokenizer lets only "(?" open a group inside a regexp group.
    if (this.#startsWith("?:")) {
      this.#at += 2;
    } else if (this.#startsWith("?=") || this.#startsWith("?!") || this.#startsWith("?<=") || this.#startsWith("?<!")) {
      this.#refuse("a look-around assertion");
    } else if (this.#read(GROUP_NAME) === null) {
      this.#refuse(`the group "(${this.source.slice(this.#at, this.#at + 3)}…"`);
    }
    const inner = this.#disjunction();
    if (this.#peek() !== ")") this.#fail(`missing ")"`);
    this.#at++;
    return inner;
  }

  #escape(): Pattern {
    const set = this.#characterEscape(false);
    return chars(set);
  }

  /** After a backslash: one character or a class such as \d. */
  #characterEscape(inClass: boolean): CharSet {
    const c = this.source[this.#at++];
    if (c === undefined) this.#fail("it ends with a backslash");
    if (c in CLASS_ESCAPES) return CLASS_ESCAPES[c];
    if (c in CONTROL_ESCAPES) return CharSet.unit(CONTROL_ESCAPES[c]);
    if (c === "b") return inClass ? CharSet.unit(8) : this.#refuse(`the word boundary "\\b"`);
    if (c === "B") this.#refuse(`the assertion "\\B"`);
    if (c >= "1" && c <= "9") this.#refuse("a back-reference");
    if (c === "k") this.#refuse("a back-reference");
    if (c === "p" || c === "P") this.#refuse(`the property escape "\\${c}{…}"`);
    if (c === "q" && inClass) this.#refuse(`a string alternative "\\q{…}"`);
    if (c === "0") {
      if (/[0-9]/.test(this.#peek() ?? "")) this.#fail(`"\\0" cannot be followed by a digit`);
      return CharSet.unit(0);
    }
    if (c === "c") {
      const letter = this.#peek();
      if (letter === undefined || !/[A-Za-z]/.test(letter)) this.#fail(`"\\c" must be followed by a letter`);
      this.#at++;
      return CharSet.unit(letter.charCodeAt(0) % 32);
    }
    if (c === "x") {
      const hex = this.#read(TWO_HEX);
      if (hex === null) this.#fail(`"\\x" must be followed by two hexadecimal digits`);
      return CharSet.unit(parseInt(hex[0], 16));
    }
    if (c === "u") return this.#unicodeEscape();
    if (SYNTAX.includes(c)) return CharSet.unit(c.charCodeAt(0));
    if (inClass && CLASS_PUNCTUATOR_ESCAPES.includes(c)) return CharSet.unit(c.charCodeAt(0));
    return this.#fail(`"\\${c}" is not a valid escape`);
  }

  #unicodeEscape(): CharSet {
    const braced = this.#read(BRACED_HEX);
    const match = braced ?? this.#read(FOUR_HEX);
    if (match === null) this.#fail(`"\\u" must be followed by four hexadecimal digits or {…}`);
    const code = parseInt(braced ? braced[1] : match[0], 16);
    if (code > 0x10ffff) this.#fail(`"\\u{${braced![1]}}" is beyond U+10FFFF`);
    // URL components are ASCII once canonicalized: a character beyond U+FFFF can never match one.
    if (code > 0xffff) this.#refuse("a character beyond U+FFFF");
    return CharSet.unit(code);
  }

  /** After "[": the class, up to and including "]". */
  #class(): CharSet {
    let negated = false;
    if (this.#peek() === "^") {
      negated = true;
      this.#at++;
    }
    const members: CharSet[] = [];
    for (;;) {
      const c = this.#peek();
      if (c === undefined) this.#fail(`missing "]"`);
      if (c === "]") {
        this.#at++;
        break;
      }
      if ((c === "&" && this.#peek(1) === "&") || (c === "-" && this.#peek(1) === "-")) this.#refuse(`the class set operation "${c}${c}"`);
      if (c === "[") this.#refuse("a nested class");
      const low = this.#classAtom();
      if (this.#peek() === "-" && this.#peek(1) !== "]" && this.#peek(1) !== undefined) {
        if (this.#peek(1) === "-") this.#refuse(`the class set operation "--"`);
        this.#at++;
        const high = this.#classAtom();
        const lo = single(low);
        const hi = single(high);
        if (lo === null || hi === null) this.#fail("a class range must be between two characters");
        if (lo > hi) this.#fail("a class range is out of order");
        members.push(CharSet.range(lo, hi));
      } else {
        members.push(low);
      }
    }
    const set = CharSet.EMPTY.union(...members);
    return negated ? set.negate() : set;
  }

  #classAtom(): CharSet {
    const c = this.source[this.#at++];
    if (c === "\\") return this.#characterEscape(true);
    if (CLASS_SYNTAX.includes(c)) this.#fail(`"${c}" must be escaped inside a class`);
    if (DOUBLE_PUNCTUATORS.includes(c) && this.#peek() === c) this.#fail(`"${c}${c}" is reserved inside a class`);
    return CharSet.unit(c.charCodeAt(0));
  }
}

function single(set: CharSet): number | null {
  const r = set.ranges;
  return r.length === 2 && r[0] === r[1] ? r[0] : null;
}
