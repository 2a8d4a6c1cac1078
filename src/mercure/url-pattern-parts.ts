import { CharSet } from "./char-set.js";
import { chars, literal, optional, plus, seq, star, type Pattern } from "./pattern.js";
import { DOT, parseGroupRegexp } from "./url-pattern-regexp.js";
import { PatternSyntaxError, tokenize, type Token, type TokenType } from "./url-pattern-tokens.js";

/**
 * One component's pattern string (e.g. the pathname `/books/:id`) parsed
 * into the standard's part list ("Parsing pattern strings"), and the part
 * list turned into the language the standard's generated regular expression
 * matches ("Converting part lists to regular expressions"), form for form,
 * as a Pattern for the linear-time automaton rather than a RegExp.
 */

export type Modifier = "none" | "optional" | "zero-or-more" | "one-or-more";

export interface Part {
  readonly type: "fixed-text" | "regexp" | "segment-wildcard" | "full-wildcard";
  /** The fixed text, or the custom regular expression's source. */
  readonly value: string;
  readonly modifier: Modifier;
  readonly name: string;
  readonly prefix: string;
  readonly suffix: string;
}

/** The standard's options: what a `:name` stops at, and which character before a group belongs to it. */
export interface PartOptions {
  readonly delimiter: string;
  readonly prefix: string;
}

export const DEFAULT_OPTIONS: PartOptions = { delimiter: "", prefix: "" };
export const HOSTNAME_OPTIONS: PartOptions = { delimiter: ".", prefix: "" };
export const PATHNAME_OPTIONS: PartOptions = { delimiter: "/", prefix: "/" };

export type EncodingCallback = (text: string) => string;

const FULL_WILDCARD = ".*";

function segmentWildcardRegexp(options: PartOptions): string {
  return `[^${escapeRegexpString(options.delimiter)}]+?`;
}

function escapeRegexpString(text: string): string {
  return text.replace(/[.+*?^${}()[\]|/\\]/g, "\\$&");
}

/** The standard's "parse a pattern string". */
export function parsePatternString(input: string, options: PartOptions, encode: EncodingCallback): Part[] {
  const tokens = tokenize(input, "strict");
  const segmentWildcard = segmentWildcardRegexp(options);
  const parts: Part[] = [];
  const names = new Set<string>();
  let pendingFixed = "";
  let index = 0;
  let nextNumericName = 0;

  const tryConsume = (type: TokenType): Token | null => {
    const token = tokens[index];
    if (token.type !== type) return null;
    index++;
    return token;
  };
  const tryConsumeModifier = () => tryConsume("other-modifier") ?? tryConsume("asterisk");
  const tryConsumeRegexpOrWildcard = (name: Token | null) => {
    const token = tryConsume("regexp");
    return name === null && token === null ? tryConsume("asterisk") : token;
  };
  const consumeRequired = (type: TokenType, what: string) => {
    const token = tryConsume(type);
    if (token === null) {
      const found = tokens[index];
      throw new PatternSyntaxError(`expected ${what} at character ${found.index + 1}, found ${found.type === "end" ? "the end" : `"${found.value}"`}`);
    }
    return token;
  };
  const consumeText = () => {
    let text = "";
    for (;;) {
      const token = tryConsume("char") ?? tryConsume("escaped-char");
      if (token === null) return text;
      text += token.value;
    }
  };
  const flushPendingFixed = () => {
    if (pendingFixed === "") return;
    const value = encode(pendingFixed);
    pendingFixed = "";
    parts.push({ type: "fixed-text", value, modifier: "none", name: "", prefix: "", suffix: "" });
  };
  const addPart = (prefix: string, nameToken: Token | null, regexpOrWildcard: Token | null, suffix: string, modifierToken: Token | null) => {
    const modifier: Modifier =
      modifierToken === null ? "none" : modifierToken.value === "?" ? "optional" : modifierToken.value === "*" ? "zero-or-more" : "one-or-more";
    if (nameToken === null && regexpOrWildcard === null && modifier === "none") {
      pendingFixed += prefix; // a "{foo}" group: plain text
      return;
    }
    flushPendingFixed();
    if (nameToken === null && regexpOrWildcard === null) {
      if (prefix === "") return;
      parts.push({ type: "fixed-text", value: encode(prefix), modifier, name: "", prefix: "", suffix: "" });
      return;
    }
    let value = regexpOrWildcard === null ? segmentWildcard : regexpOrWildcard.type === "asterisk" ? FULL_WILDCARD : regexpOrWildcard.value;
    let type: Part["type"] = "regexp";
    if (value === segmentWildcard) {
      type = "segment-wildcard";
      value = "";
    } else if (value === FULL_WILDCARD) {
      type = "full-wildcard";
      value = "";
    }
    let name = "";
    if (nameToken !== null) name = nameToken.value;
    else name = String(nextNumericName++);
    if (names.has(name)) throw new PatternSyntaxError(`the group name "${name}" is used twice`);
    names.add(name);
    parts.push({ type, value, modifier, name, prefix: encode(prefix), suffix: encode(suffix) });
  };

  while (index < tokens.length) {
    const charToken = tryConsume("char");
    let nameToken = tryConsume("name");
    let regexpOrWildcard = tryConsumeRegexpOrWildcard(nameToken);
    if (nameToken !== null || regexpOrWildcard !== null) {
      let prefix = charToken?.value ?? "";
      if (prefix !== "" && prefix !== options.prefix) {
        pendingFixed += prefix;
        prefix = "";
      }
      flushPendingFixed();
      addPart(prefix, nameToken, regexpOrWildcard, "", tryConsumeModifier());
      continue;
    }
    const fixedToken = charToken ?? tryConsume("escaped-char");
    if (fixedToken !== null) {
      pendingFixed += fixedToken.value;
      continue;
    }
    if (tryConsume("open") !== null) {
      const prefix = consumeText();
      nameToken = tryConsume("name");
      regexpOrWildcard = tryConsumeRegexpOrWildcard(nameToken);
      const suffix = consumeText();
      consumeRequired("close", `"}" to close the group`);
      addPart(prefix, nameToken, regexpOrWildcard, suffix, tryConsumeModifier());
      continue;
    }
    flushPendingFixed();
    consumeRequired("end", "text, a group or the end");
  }
  return parts;
}

/** Groups and modified text in the parts: what the limit on wildcards counts. */
export function countGroups(parts: readonly Part[]): number {
  return parts.filter((p) => p.type !== "fixed-text" || p.modifier !== "none").length;
}

/** The language of the standard's generated `^…$` regular expression for these parts. */
export function partsPattern(parts: readonly Part[], options: PartOptions): Pattern {
  const segment = plus(chars(CharSet.of(options.delimiter).negate()));
  return seq(
    ...parts.map((part) => {
      if (part.type === "fixed-text") return withModifier(literal(part.value), part.modifier);
      const value =
        part.type === "segment-wildcard" ? segment : part.type === "full-wildcard" ? star(chars(DOT)) : parseGroupRegexp(part.value);
      if (part.prefix === "" && part.suffix === "") return withModifier(value, part.modifier);
      const prefix = literal(part.prefix);
      const suffix = literal(part.suffix);
      if (part.modifier === "none" || part.modifier === "optional") return withModifier(seq(prefix, value, suffix), part.modifier);
      // (?:<prefix>((?:<value>)(?:<suffix><prefix>(?:<value>))*)<suffix>)? — the `?` only for zero-or-more
      const repeated = seq(prefix, value, star(seq(suffix, prefix, value)), suffix);
      return part.modifier === "zero-or-more" ? optional(repeated) : repeated;
    }),
  );
}

function withModifier(pattern: Pattern, modifier: Modifier): Pattern {
  switch (modifier) {
    case "none":
      return pattern;
    case "optional":
      return optional(pattern);
    case "zero-or-more":
      return star(pattern);
    case "one-or-more":
      return plus(pattern);
  }
}
