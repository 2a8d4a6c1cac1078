import { CharSet } from "./char-set.js";
import { alt, chars, literal, optional, repeat, seq, star, type Pattern } from "./pattern.js";

/**
 * RFC 6570 URI templates as Mercure 0.x topic selectors, matched the way the
 * 0.x reference hub matches them: it parses the selector with the Go library
 * yosida95/uritemplate (v3) and matches topics against `Template.Regexp()`.
 * This module mirrors that library's parser (what is a valid template) and
 * its regular expression (what each expression may match), and hands the
 * language to the linear-time automaton instead of a regexp engine.
 *
 * What an expression matches, per operator (the library's regexp):
 *
 *   {var}        unreserved, `,` and %XX            (no `/`, `?`, `#`, `&`…)
 *   {+var}       unreserved, reserved and %XX
 *   {#var}       "#" then as {+var}
 *   {.var}       "." then unreserved, `,`, %XX;     more values after "."
 *   {/var}       "/" then as {.var};                 more values after "/"
 *   {;var}       ";" then unreserved, `,`, `=`, %XX; more values after ";"
 *   {?var}       "?" then as {;var};                 more values after "&"
 *   {&var}       "&" then as {;var};                 more values after "&"
 *
 * Every expression is optional as a whole (an undefined variable expands to
 * nothing). A list `{x,y,z}` allows up to two more values after separators;
 * an explode modifier (`*`) anywhere in the list allows any number, and lets
 * the first value contain `=` (exploded associative arrays). A prefix
 * modifier (`:3`) is accepted and, as in the library, does not limit the
 * length matched. Percent-encoded triplets are matched as three characters,
 * never decoded, so `%2F` does not stand for `/`.
 *
 * Deviations: none known in what matches; the library matches on Unicode
 * code points and this automaton on UTF-16 code units, which only differs
 * for lone surrogates (which 1.0 forbids in topics and no expression matches
 * either way: the variable classes are ASCII).
 */

export interface UriTemplate {
  readonly pattern: Pattern;
  readonly expressions: number;
  readonly variables: number;
}

type Operator = "" | "+" | "#" | "." | "/" | ";" | "?" | "&";

interface Expression {
  operator: Operator;
  variables: { explode: boolean }[];
}

const UNRESERVED = CharSet.ofRanges([
  [0x2d, 0x2e],
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
  [0x7e, 0x7e],
]);
const RESERVED = CharSet.of("!#$&'()*+,/:;=?@[]");
const HEX = CharSet.ofRanges([
  [0x30, 0x39],
  [0x41, 0x46],
  [0x61, 0x66],
]);
const PERCENT_ENCODED = seq(literal("%"), chars(HEX), chars(HEX));

/** The library's `rangeLiterals`: what may appear outside expressions (besides %XX). */
const LITERAL_RANGES: readonly (readonly [number, number])[] = [
  [0x21, 0x21],
  [0x23, 0x24],
  [0x26, 0x3b],
  [0x3d, 0x3d],
  [0x3f, 0x5b],
  [0x5d, 0x5d],
  [0x5f, 0x5f],
  [0x61, 0x7a],
  [0x7e, 0x7e],
  [0xa0, 0xd7ff],
  [0xe000, 0xf8ff],
  [0xf900, 0xfdcf],
  [0xfdf0, 0xffef],
  [0x10000, 0x1fffd],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
  [0x40000, 0x4fffd],
  [0x50000, 0x5fffd],
  [0x60000, 0x6fffd],
  [0x70000, 0x7fffd],
  [0x80000, 0x8fffd],
  [0x90000, 0x9fffd],
  [0xa0000, 0xafffd],
  [0xb0000, 0xbfffd],
  [0xc0000, 0xcfffd],
  [0xd0000, 0xdfffd],
  [0xe1000, 0xefffd],
  [0xf0000, 0xffffd],
  [0x100000, 0x10fffd],
];

const isLiteral = (cp: number) => LITERAL_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi);
const isVarchar = (cp: number) => (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f || (cp >= 0x61 && cp <= 0x7a);
const isHex = (c: string | undefined) => c !== undefined && /^[0-9A-Fa-f]$/.test(c);

/** Parses a template as the library does; null when it is not one (the selector is then a plain string). */
export function parseUriTemplate(source: string): UriTemplate | null {
  const pieces: (string | Expression)[] = [];
  let literalText = "";
  let i = 0;
  while (i < source.length) {
    const cp = source.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (cp === 0x7b /* { */) {
      const end = parseExpression(source, i + 1);
      if (end === null) return null;
      if (literalText !== "") pieces.push(literalText);
      literalText = "";
      pieces.push(end.expression);
      i = end.next;
      continue;
    }
    if (cp === 0x25 /* % */) {
      if (!isHex(source[i + 1]) || !isHex(source[i + 2])) return null;
      literalText += source.slice(i, i + 3);
      i += 3;
      continue;
    }
    // A lone surrogate is not a code point the library could have read (it would not be valid UTF-8).
    if ((cp >= 0xd800 && cp <= 0xdfff) || !isLiteral(cp)) return null;
    literalText += source.slice(i, i + width);
    i += width;
  }
  if (literalText !== "") pieces.push(literalText);

  const expressions = pieces.filter((p): p is Expression => typeof p !== "string");
  return {
    pattern: seq(...pieces.map((p) => (typeof p === "string" ? literal(p) : expressionPattern(p)))),
    expressions: expressions.length,
    variables: expressions.reduce((n, e) => n + e.variables.length, 0),
  };
}

/** Reads `op? varspec ("," varspec)* "}"` from just after a `{`; null when malformed. */
function parseExpression(source: string, start: number): { expression: Expression; next: number } | null {
  let i = start;
  let operator: Operator = "";
  const first = source[i];
  if (first === "+" || first === "#" || first === "." || first === "/" || first === ";" || first === "?" || first === "&") {
    operator = first;
    i++;
  } else if (first === "=" || first === "," || first === "!" || first === "@" || first === "|") {
    return null; // op-reserved: the library refuses them
  }
  const variables: { explode: boolean }[] = [];
  for (;;) {
    const nameStart = i;
    // varname = varchar *( ["."] varchar ), varchar = ALPHA / DIGIT / "_" / pct-encoded
    for (;;) {
      const c = source[i];
      if (c === undefined) return null;
      if (c === "%") {
        if (!isHex(source[i + 1]) || !isHex(source[i + 2])) return null;
        i += 3;
      } else if (c === ".") {
        if (i === nameStart || source[i - 1] === ".") return null;
        i++;
      } else if (isVarchar(c.charCodeAt(0))) {
        i++;
      } else {
        break;
      }
    }
    const name = source.slice(nameStart, i);
    if (name === "" || name.endsWith(".")) return null;
    let explode = false;
    if (source[i] === "*") {
      explode = true;
      i++;
    } else if (source[i] === ":") {
      // max-length: 1 to 4 digits, first non-zero, at most 9999
      i++;
      const digitsStart = i;
      while (source[i] !== undefined && source[i] >= "0" && source[i] <= "9") i++;
      const digits = source.slice(digitsStart, i);
      if (digits === "" || digits[0] === "0" || digits.length > 4) return null;
    }
    variables.push({ explode });
    if (source[i] === ",") {
      i++;
      continue;
    }
    if (source[i] === "}") return { expression: { operator, variables }, next: i + 1 };
    return null;
  }
}

/** What one value may be made of: the library's `runeClassToRegexp`. */
function valuePattern(reserved: boolean, named: boolean): Pattern {
  const set = reserved ? UNRESERVED.union(RESERVED) : UNRESERVED.union(CharSet.of(named ? ",=" : ","));
  return star(alt(chars(set), PERCENT_ENCODED));
}

const OPERATORS: Record<Operator, { first: string; separator: string; named: boolean; reserved: boolean }> = {
  "": { first: "", separator: ",", named: false, reserved: false },
  "+": { first: "", separator: ",", named: false, reserved: true },
  "#": { first: "#", separator: ",", named: false, reserved: true },
  ".": { first: ".", separator: ".", named: false, reserved: false },
  "/": { first: "/", separator: "/", named: false, reserved: false },
  ";": { first: ";", separator: ";", named: true, reserved: false },
  "?": { first: "?", separator: "&", named: true, reserved: false },
  "&": { first: "&", separator: "&", named: true, reserved: false },
};

/** The library's `expression.regexp`: `(?:first(value(?:sep value){0,n-1}))?`, `*` instead of `{0,n-1}` when exploded. */
function expressionPattern(expression: Expression): Pattern {
  const op = OPERATORS[expression.operator];
  const { variables } = expression;
  const exploded = variables.some((v) => v.explode);
  const parts: Pattern[] = [valuePattern(op.reserved, op.named || variables[0].explode)];
  if (variables.length > 1 || exploded) {
    const more = seq(literal(op.separator), valuePattern(op.reserved, op.named || exploded));
    parts.push(exploded ? star(more) : repeat(more, 0, variables.length - 1));
  }
  return optional(seq(literal(op.first), ...parts));
}
