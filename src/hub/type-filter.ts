/**
 * Type filters: comma-separated globs such as `call.*,agent.status`, where
 * `*` matches any run of characters (dots included). History reads and live
 * streams must select the same events, so the matcher here agrees exactly
 * with SQLite's GLOB on this alphabet (test/type-filter.test.ts checks it
 * against SQLite on random globs and types).
 */

const GLOB = /^[a-z0-9_*-]+(?:\.[a-z0-9_*-]+)*$/;

export class FilterError extends Error {}

/** Parses `types=` into a sorted, de-duplicated list; empty means every type. */
export function parseTypes(param: string | undefined | null): string[] {
  if (!param) return [];
  const globs = [...new Set(param.split(",").map((g) => g.trim()).filter(Boolean))].sort();
  for (const g of globs) {
    if (!GLOB.test(g) || g.length > 100) {
      throw new FilterError(`types: "${g}" is not a type or glob like call.* (lower-case letters, digits, "_", "-", "." and "*")`);
    }
  }
  if (globs.length > 20) throw new FilterError("types: at most 20 globs");
  return globs;
}

/** Whether a glob matches every type (it is only stars, as GLOB's `*` also matches the empty string). */
export function matchesEveryType(glob: string): boolean {
  return /^\*+$/.test(glob);
}

/**
 * One glob as a predicate, without backtracking. The glob is cut at its
 * stars into literal pieces: the first must start the type, the last must
 * end it, and the ones between are found left to right, each at its
 * leftmost place after the previous one. Taking the leftmost place is never
 * wrong when the only wildcard is `*` (it leaves the most room for the rest),
 * so no choice is ever revisited: the work is at most the type's length per
 * piece, whatever the number of stars. (A `.*` regex instead retries every
 * split of the type between its stars: exponential in their number.)
 */
export function globMatcher(glob: string): (type: string) => boolean {
  const pieces = glob.split("*");
  if (pieces.length === 1) return (type) => type === glob;
  const head = pieces[0];
  const tail = pieces[pieces.length - 1];
  const middle = pieces.slice(1, -1).filter((p) => p !== "");
  const fixed = head.length + tail.length;
  return (type) => {
    if (type.length < fixed || !type.startsWith(head) || !type.endsWith(tail)) return false;
    const end = type.length - tail.length;
    let at = head.length;
    for (const piece of middle) {
      const found = type.indexOf(piece, at);
      if (found < 0 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}

/** Compiles globs into one predicate; null matches everything. */
export function typeMatcher(globs: readonly string[]): ((type: string) => boolean) | null {
  if (globs.length === 0) return null;
  if (globs.some(matchesEveryType)) return () => true;
  const exact = new Set(globs.filter((g) => !g.includes("*")));
  const wild = globs.filter((g) => g.includes("*")).map(globMatcher);
  if (wild.length === 0) return (type) => exact.has(type);
  return (type) => exact.has(type) || wild.some((match) => match(type));
}
