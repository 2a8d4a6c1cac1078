import { sql } from "drizzle-orm";
import type { Db } from "./db.js";

/** The placeholders prepared queries take, one name each: the tenant, a row's id, a state or status, a row limit. */
export const TENANT = sql.placeholder("tenant");
export const ID = sql.placeholder("id");
export const STATE = sql.placeholder("state");
export const LIMIT = sql.placeholder("limit");

/**
 * A query built and prepared once per database, then run with the values
 * of its placeholders. Building a query with drizzle and preparing it with
 * SQLite cost about three quarters of a small indexed read; the console's
 * overview makes some thirty of them on each event that changes it, for
 * every tenant watching, so those are prepared once. `build` gets the
 * database the query will run on (a test may open several).
 */
export function preparedFor<Q>(build: (db: Db) => Q): (db: Db) => Q {
  const byDb = new WeakMap<Db, Q>();
  return (db) => {
    let query = byDb.get(db);
    if (query === undefined) byDb.set(db, (query = build(db)));
    return query;
  };
}
