import { or, sql, type SQL, type SQLWrapper } from "drizzle-orm";

/**
 * A list's search: any of `columns` contains `q` (case-insensitive for
 * ASCII, as SQLite's LIKE is), its `%` and `_` taken literally; no
 * condition for no search. A LIKE with a leading wildcard cannot seek an
 * index: it filters the rows of the list's index range as they are read,
 * stopping once a page is found.
 */
export function containing(columns: readonly SQLWrapper[], q: string | null): SQL | undefined {
  if (q === null) return undefined;
  const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return or(...columns.map((column) => sql`${column} LIKE ${pattern} ESCAPE '\\'`));
}
