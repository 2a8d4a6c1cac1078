import type Database from "better-sqlite3";
import { getTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import type pg from "pg";
import { postgresTables } from "./postgres-schema.js";

/** A table as copied between PostgreSQL and a node's SQLite replica: its columns and rows, in column order. */
export interface TableCopy {
  name: string;
  columns: string[];
  rows: unknown[][];
}

export interface TableShape {
  name: string;
  columns: string[];
  /** The primary key's columns: what a row is told apart by when two copies are compared. */
  key: string[];
}

const shapeOf = (table: SQLiteTable): TableShape => {
  const config = getTableConfig(table);
  const declared = config.primaryKeys[0]?.columns.map((c) => c.name);
  return { name: config.name, columns: config.columns.map((c) => c.name), key: declared ?? config.columns.filter((c) => c.primary).map((c) => c.name) };
};

/** Tables in an order where each comes after those it refers to: the order a database checking foreign keys is filled in. */
function referredFirst(tables: readonly SQLiteTable[]): SQLiteTable[] {
  const ordered: SQLiteTable[] = [];
  const seen = new Set<SQLiteTable>();
  const visit = (table: SQLiteTable) => {
    if (seen.has(table)) return;
    seen.add(table);
    for (const fk of getTableConfig(table).foreignKeys) visit(fk.reference().foreignTable as SQLiteTable);
    ordered.push(table);
  };
  tables.forEach(visit);
  return ordered;
}

/** Every table of the one schema, those others refer to first. */
const ALL: TableShape[] = referredFirst([...postgresTables.keys()]).map(shapeOf);

/** Tables only PostgreSQL reads and writes, as the nodes' shared state: never copied. */
const CLUSTER_ONLY = new Set(["rate_buckets", "node_streams", "node_workers"]);

/**
 * The tables of access: who may do what (tenants, keys, console sessions,
 * each tenant's Mercure keys and settings) and the server's settings.
 * Written to PostgreSQL, announced on ACCESS_CHANNEL, and reloaded whole
 * into every node's replica.
 */
export const ACCESS_TABLES: TableShape[] = ["tenants", "api_keys", "console_sessions", "settings", "mercure_settings"].map((n) => ALL.find((t) => t.name === n)!);

/**
 * What a node's replica copies at start: every table but the log (its
 * replica keeps only recent events, as they are applied) and the nodes'
 * shared state (publishing allowances, stream counts, workers held).
 */
export const REPLICA_TABLES: TableShape[] = ALL.filter((t) => t.name !== "events" && !CLUSTER_ONLY.has(t.name));

/** Reads tables from PostgreSQL on `client` (in the caller's transaction, for one snapshot of them all). */
export async function readPostgres(client: pg.ClientBase, tables: readonly TableShape[]): Promise<TableCopy[]> {
  const out: TableCopy[] = [];
  for (const t of tables) {
    const { rows } = await client.query<unknown[]>({ text: `SELECT ${t.columns.map(quote).join(", ")} FROM ${quote(t.name)}`, rowMode: "array" });
    out.push({ name: t.name, columns: t.columns, rows });
  }
  return out;
}

/** Reads tables from a SQLite database. */
export function readSqlite(sqlite: Database.Database, tables: readonly TableShape[]): TableCopy[] {
  return tables.map((t) => ({
    name: t.name,
    columns: t.columns,
    rows: sqlite.prepare(`SELECT ${t.columns.map(quote).join(", ")} FROM ${quote(t.name)}`).raw().all() as unknown[][],
  }));
}

/**
 * Replaces the rows of each table with the copy's, in one transaction. The
 * tables are deleted in reverse order and filled in order, so a database that
 * checks foreign keys sees every referenced row first.
 */
export function loadSqlite(sqlite: Database.Database, copies: readonly TableCopy[]): void {
  sqlite.transaction(() => {
    for (const c of [...copies].reverse()) sqlite.prepare(`DELETE FROM ${quote(c.name)}`).run();
    for (const c of copies) {
      if (c.rows.length === 0) continue;
      const insert = sqlite.prepare(`INSERT INTO ${quote(c.name)} (${c.columns.map(quote).join(", ")}) VALUES (${c.columns.map(() => "?").join(", ")})`);
      for (const row of c.rows) insert.run(row.map(sqliteValue));
    }
  })();
}

/** better-sqlite3 binds no booleans; PostgreSQL's mirror has none either, but a driver may still hand one over. */
const sqliteValue = (v: unknown): unknown => (typeof v === "boolean" ? Number(v) : v);

/** A changed row goes up whole, a removed one by its key. */
export interface TableChanges {
  shape: TableShape;
  upserts: unknown[][];
  deletes: unknown[][];
}

/** What turns `before` into `after`, table by table (rows compared by primary key). */
export function diffTables(shapes: readonly TableShape[], before: readonly TableCopy[], after: readonly TableCopy[]): TableChanges[] {
  return shapes.map((shape, i) => {
    const keyAt = shape.key.map((k) => shape.columns.indexOf(k));
    const keyOf = (row: unknown[]) => JSON.stringify(keyAt.map((at) => row[at]));
    const old = new Map(before[i].rows.map((r) => [keyOf(r), JSON.stringify(r)]));
    const now = new Set<string>();
    const upserts: unknown[][] = [];
    for (const row of after[i].rows) {
      const k = keyOf(row);
      now.add(k);
      if (old.get(k) !== JSON.stringify(row)) upserts.push(row);
    }
    const deletes = before[i].rows.filter((r) => !now.has(keyOf(r))).map((r) => keyAt.map((at) => r[at]));
    return { shape, upserts, deletes };
  });
}

/** Applies changes to PostgreSQL on `client`, in the caller's transaction: upserts in table order, deletes in reverse. */
export async function writePostgres(client: pg.ClientBase, changes: readonly TableChanges[]): Promise<number> {
  let n = 0;
  for (const { shape, upserts } of changes) {
    const cols = shape.columns.map(quote).join(", ");
    const set = shape.columns.filter((c) => !shape.key.includes(c)).map((c) => `${quote(c)} = excluded.${quote(c)}`);
    const conflict = `ON CONFLICT (${shape.key.map(quote).join(", ")}) ${set.length > 0 ? `DO UPDATE SET ${set.join(", ")}` : "DO NOTHING"}`;
    const text = `INSERT INTO ${quote(shape.name)} (${cols}) VALUES (${shape.columns.map((_, i) => `$${i + 1}`).join(", ")}) ${conflict}`;
    for (const row of upserts) await client.query(text, row), n++;
  }
  for (const { shape, deletes } of [...changes].reverse()) {
    const text = `DELETE FROM ${quote(shape.name)} WHERE ${shape.key.map((k, i) => `${quote(k)} = $${i + 1}`).join(" AND ")}`;
    for (const key of deletes) await client.query(text, key), n++;
  }
  return n;
}

/** A table or column name as SQL, quoted. */
export const quote = (name: string) => `"${name}"`;
