import { sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "../store/db.js";
import { preparedFor } from "../store/prepared.js";

/**
 * Counts past this are shown as "999+": a count reads at most this many
 * index entries, so a tile stays cheap however many rows a tenant has.
 */
export const COUNT_CAP = 999;

/**
 * A count of the rows `where` matches (its placeholders filled at each
 * call), counting no further than `cap` + 1 through the index `where` can
 * use; prepared once per database.
 */
export function cappedCount(table: SQLiteTable, where: SQL | undefined, cap = COUNT_CAP): (db: Db, params: Record<string, unknown>) => number {
  const query = preparedFor((db) => {
    const capped = db.select({ one: sql`1` }).from(table).where(where).limit(cap + 1).as("capped");
    return db.select({ n: sql<number>`count(*)` }).from(capped).prepare();
  });
  return (db, params) => query(db).get(params)?.n ?? 0;
}

/** A count as a tile shows it: "12", or "999+" past the cap. */
export const countLabel = (n: number, cap = COUNT_CAP): string => (n > cap ? `${cap}+` : String(n));
