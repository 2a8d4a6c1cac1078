/**
 * Type filters: comma-separated globs such as `call.*,agent.status`, where
 * `*` matches any run of characters (dots included). The same globs are
 * used by SQLite's GLOB when reading history, so both sides agree.
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

/** Compiles globs into one predicate; null matches everything. */
export function typeMatcher(globs: readonly string[]): ((type: string) => boolean) | null {
  if (globs.length === 0) return null;
  if (globs.every((g) => !g.includes("*"))) {
    const exact = new Set(globs);
    return (type) => exact.has(type);
  }
  const re = new RegExp(`^(?:${globs.map((g) => g.replace(/\./g, "\\.").replace(/\*/g, ".*")).join("|")})$`);
  return (type) => re.test(type);
}
