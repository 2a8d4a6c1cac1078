import { sql, type SQL, type SQLWrapper } from "drizzle-orm";

/**
 * Where a page of a list ends, as keyset pagination reads it: the sort
 * value of its last row (a time) and that row's id, which breaks ties. The
 * next page is the rows strictly after it in (sort value, id) descending
 * order: one index seek on (tenant, sort value, id), however deep the page,
 * and rows arriving at the top never shift what an older page shows.
 */
export interface Cursor {
  at: number;
  /** An entity's id, or a number where creation order breaks ties: compared as the column is (SQLite sorts every number before any text). */
  id: string | number;
}

/**
 * Rows after the cursor in a newest-first list ordered by (at, id)
 * descending; no condition for the first page. Written as a row value:
 * SQLite seeks the index to it, where `at < ? OR (at = ? AND id < ?)`
 * bounds only the tenant and walks every newer row before the page.
 */
export function olderThan(cursor: Cursor | null, at: SQLWrapper, id: SQLWrapper): SQL | undefined {
  if (!cursor) return undefined;
  return sql`(${at}, ${id}) < (${cursor.at}, ${cursor.id})`;
}

/** Rows at or after the cursor's own row: with `olderThan` of the row before, a window of the list. */
export function notOlderThan(cursor: Cursor, at: SQLWrapper, id: SQLWrapper): SQL {
  return sql`(${at}, ${id}) >= (${cursor.at}, ${cursor.id})`;
}

/** One page of a list and where the next one starts (null: this is the last). */
export interface Page<T> {
  rows: T[];
  older: Cursor | null;
}

/**
 * A page from rows read with a limit of `size + 1`: the extra row, when
 * there is one, only says an older page exists, so no count is ever needed.
 */
export function pageOf<T>(rows: T[], size: number, cursorOf: (row: T) => Cursor): Page<T> {
  if (rows.length <= size) return { rows, older: null };
  const shown = rows.slice(0, size);
  return { rows: shown, older: cursorOf(shown[shown.length - 1]) };
}
