import { or, sql, type SQL, type SQLWrapper } from "drizzle-orm";
import type { Cursor, Page } from "./keyset.js";

/**
 * A list's search: any of `columns` contains `q` (case-insensitive for
 * ASCII, as SQLite's LIKE is), its `%` and `_` taken literally; no
 * condition for no search. A LIKE with a leading wildcard cannot seek an
 * index: it filters the rows of the list's index range as they are read,
 * so a search is read within a window (SEARCH_WINDOW).
 */
export function containing(columns: readonly SQLWrapper[], q: string | null): SQL | undefined {
  if (q === null) return undefined;
  const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return or(...columns.map((column) => sql`${column} LIKE ${pattern} ESCAPE '\\'`));
}

/**
 * How many rows of a list's index range one search request examines, at
 * most. A search that matches little would otherwise read a large tenant's
 * whole range (200,000 workflows: a quarter of a second of the event loop,
 * every other client waiting); within the window it costs a few
 * milliseconds, and the list's "Older" link searches the next window.
 */
export const SEARCH_WINDOW = 2_000;

/**
 * Where a search's window ends: the SEARCH_WINDOW-th row of the list's
 * range, selecting only the columns of its cursor, so that it is read from
 * the index alone. `range` is that ordered select; nothing is read for no
 * search. Undefined for a range shorter than the window.
 */
export function windowEnd<T>(q: string | null, range: { limit(n: number): { offset(n: number): { get(): T | undefined } } }): T | undefined {
  return q === null ? undefined : range.limit(1).offset(SEARCH_WINDOW - 1).get();
}

/**
 * A searched page, bounded by its window: when the window (ending at
 * `windowEnd`, the SEARCH_WINDOW-th row from the page's start, or null for
 * a range shorter than that) held less than a page of matches, the next
 * page starts after the window, so the search goes on from there.
 */
export function searchedPage<T>(page: Page<T>, windowEnd: Cursor | null): Page<T> {
  return page.older === null && windowEnd !== null ? { ...page, older: windowEnd } : page;
}
