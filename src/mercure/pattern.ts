import { CharSet } from "./char-set.js";

/**
 * A regular language, as the selectors' compilers describe it before it
 * becomes an automaton: what a URI template or a URL pattern component
 * matches, with no captures, anchors, back-references or look-arounds (the
 * features that make a backtracking engine necessary), so it always has a
 * finite automaton that reads a topic once.
 */
export type Pattern =
  | { readonly kind: "set"; readonly set: CharSet }
  | { readonly kind: "seq"; readonly items: readonly Pattern[] }
  | { readonly kind: "alt"; readonly options: readonly Pattern[] }
  /** `max` is Infinity for an unbounded repetition. */
  | { readonly kind: "repeat"; readonly item: Pattern; readonly min: number; readonly max: number };

export const EMPTY: Pattern = { kind: "seq", items: [] };

export function chars(set: CharSet): Pattern {
  return { kind: "set", set };
}

/** The string itself, code unit by code unit. */
export function literal(text: string): Pattern {
  const items: Pattern[] = [];
  for (let i = 0; i < text.length; i++) items.push(chars(CharSet.unit(text.charCodeAt(i))));
  return items.length === 1 ? items[0] : { kind: "seq", items };
}

export function seq(...items: Pattern[]): Pattern {
  const flat = items.flatMap((p) => (p.kind === "seq" ? p.items : [p]));
  return flat.length === 1 ? flat[0] : { kind: "seq", items: flat };
}

export function alt(...options: Pattern[]): Pattern {
  return options.length === 1 ? options[0] : { kind: "alt", options };
}

export function repeat(item: Pattern, min: number, max: number): Pattern {
  return { kind: "repeat", item, min, max };
}

export const star = (item: Pattern): Pattern => repeat(item, 0, Infinity);
export const plus = (item: Pattern): Pattern => repeat(item, 1, Infinity);
export const optional = (item: Pattern): Pattern => repeat(item, 0, 1);

/** The string when the pattern matches exactly one (so the matcher can be a string comparison), else null. */
export function fixedString(pattern: Pattern): string | null {
  if (pattern.kind === "set") {
    const r = pattern.set.ranges;
    return r.length === 2 && r[0] === r[1] ? String.fromCharCode(r[0]) : null;
  }
  if (pattern.kind === "seq") {
    let out = "";
    for (const item of pattern.items) {
      const piece = fixedString(item);
      if (piece === null) return null;
      out += piece;
    }
    return out;
  }
  if (pattern.kind === "alt") return null;
  if (pattern.min !== pattern.max) return null;
  const piece = fixedString(pattern.item);
  return piece === null ? null : piece.repeat(pattern.min);
}

/** Whether the pattern matches every string (`.*` over every code unit), so matching can be skipped. */
export function matchesEverything(pattern: Pattern): boolean {
  if (pattern.kind !== "repeat" || pattern.min !== 0 || pattern.max !== Infinity) return false;
  const item = pattern.item;
  return item.kind === "set" && item.set.ranges.length === 2 && item.set.ranges[0] === 0 && item.set.ranges[1] === 0xffff;
}
