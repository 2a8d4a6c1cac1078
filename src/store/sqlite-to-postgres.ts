import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import type Database from "better-sqlite3";
import pg from "pg";
import { openDb } from "./db.js";
import { LEADER_LOCK } from "./leadership.js";
import { migratePostgres } from "./postgres-migrate.js";
import { inTransaction } from "./postgres-transaction.js";
import { quote, REPLICA_TABLES, type TableShape } from "./replica-tables.js";

/** Why a move was refused or failed its verification: said to the operator as is. */
export class MoveError extends Error {}

export interface MoveOptions {
  /** The SQLite file of a single-host deployment. */
  from: string;
  /** The PostgreSQL database its nodes will share. */
  to: string;
  /** Events per PostgreSQL transaction: what a crash can cost to redo. */
  pageSize?: number;
  /** After each page: how many events this run has copied, of how many it has to. */
  onProgress?: (copied: number, total: number) => void;
}

export interface MoveReport {
  /** The target's last event before this run: a rerun resumes after it (0 on a first run). */
  resumedAfter: number;
  /** Events copied by this run. */
  copied: number;
  /** Events the target had that retention has since pruned from the file, removed. */
  pruned: number;
  /** Events in the log, each tenant's counted, as verified on both sides. */
  events: number;
  tenants: number;
  /** Rows of every other table, copied whole. */
  rows: number;
  /** Where new ids start: the file's high-water mark, which retention never lowers. */
  head: number;
  /** SHA-256 of every event, in id order, equal on both sides. */
  checksum: string;
}

const COLUMNS = ["id", "tenant", "type", "subject", "data", "key", "key_fingerprint", "ts"] as const;
const SELECT = `SELECT ${COLUMNS.join(", ")} FROM events`;
type Row = [number, string, string, string | null, string, string | null, string | null, number];

/**
 * Moves a SQLite deployment's data to PostgreSQL: the log, event by event
 * with its id, and every other table (tenants, keys, sessions, settings,
 * the type summary and each domain's projections) copied whole. Copying the
 * projections is what rebuilds them exactly: replaying the log could not,
 * once retention has pruned events they were built from.
 *
 * Everything is read in one snapshot of the file, so the server may still
 * run while a first pass copies the bulk; a second pass, once it is stopped,
 * copies the rest. Events go in pages, each its own transaction: a run that
 * dies resumes after the target's last event. The target must be empty or
 * a copy of this file (its last event is the file's event of that id), and
 * no node may run on it. Verified at the end: each tenant's count and id
 * span, each table's row count, and a SHA-256 of every event on both sides.
 */
export async function moveToPostgres(options: MoveOptions): Promise<MoveReport> {
  if (!existsSync(options.from)) throw new MoveError(`no SQLite file at ${options.from}`);
  const pageSize = options.pageSize ?? 5_000;
  // Brings a file of an older version up to date first, as the server would at start.
  const source = openDb(options.from).$client;
  await migratePostgres(options.to);
  const pool = new pg.Pool({ connectionString: options.to, max: 2 });
  const guard = await pool.connect();
  try {
    // A running node holds the leader lock (or waits for it); holding it keeps one from leading meanwhile.
    const { rows: lock } = await guard.query<{ held: boolean }>("SELECT pg_try_advisory_lock($1) AS held", [LEADER_LOCK]);
    if (!lock[0].held) throw new MoveError("a Switchboard node is running on the target database: stop every node before moving the log to it");
    source.exec("BEGIN");
    try {
      return await move(source, pool, pageSize, options.onProgress);
    } finally {
      source.exec("COMMIT");
    }
  } finally {
    guard.release(true);
    await pool.end();
    source.close();
  }
}

async function move(source: Database.Database, pool: pg.Pool, pageSize: number, onProgress: MoveOptions["onProgress"]): Promise<MoveReport> {
  const resumedAfter = await targetHead(source, pool);
  const pruned = await pruneAsSource(source, pool);

  const total = source.prepare("SELECT count(*) FROM events WHERE id > ?").pluck().get(resumedAfter) as number;
  const page = source.prepare(`${SELECT} WHERE id > ? ORDER BY id LIMIT ?`).raw();
  let after = resumedAfter;
  let copied = 0;
  for (;;) {
    const rows = page.all(after, pageSize) as Row[];
    if (rows.length === 0) break;
    await insertEvents(pool, rows);
    after = rows[rows.length - 1][0];
    copied += rows.length;
    onProgress?.(copied, total);
  }

  const head = Math.max(after, (source.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck().get() as number | undefined) ?? 0);
  const rows = await replaceTables(source, pool, head);
  const verified = await verify(source, pool);
  return { resumedAfter, copied, pruned, head, rows, ...verified };
}

/**
 * The target's last event, after checking that the target is a copy of the
 * file so far: empty, or its last event is the file's event of that id (or
 * one retention has since pruned from the file).
 */
async function targetHead(source: Database.Database, pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<Record<(typeof COLUMNS)[number], unknown>>(`${SELECT} ORDER BY id DESC LIMIT 1`);
  if (rows.length === 0) return 0;
  const last = COLUMNS.map((c) => (c === "id" || c === "ts" ? Number(rows[0][c]) : rows[0][c])) as Row;
  const mine = source.prepare(`${SELECT} WHERE id = ?`).raw().get(last[0]) as Row | undefined;
  const prunedThrough = source.prepare("SELECT pruned_through FROM tenants WHERE slug = ?").pluck().get(last[1]) as number | undefined;
  const same = mine !== undefined ? JSON.stringify(mine) === JSON.stringify(last) : prunedThrough !== undefined && prunedThrough >= last[0];
  if (!same) {
    throw new MoveError(
      `the target database already holds events that are not this file's (its event ${last[0]}, ${last[2]} of tenant "${last[1]}", ` +
        "differs from the file's): move to an empty database, or to the one an earlier move from this file filled",
    );
  }
  return last[0];
}

/** Removes from the target what retention has pruned from the file since an earlier run: each tenant's events through its mark. */
async function pruneAsSource(source: Database.Database, pool: pg.Pool): Promise<number> {
  const marks = source.prepare("SELECT slug, pruned_through FROM tenants").raw().all() as [string, number][];
  const { rowCount: gone } = await pool.query(
    "DELETE FROM events e USING unnest($1::text[], $2::bigint[]) AS m(tenant, through) WHERE e.tenant = m.tenant AND e.id <= m.through",
    [marks.map((m) => m[0]), marks.map((m) => m[1])],
  );
  const { rowCount: orphans } = await pool.query("DELETE FROM events WHERE NOT (tenant = ANY($1::text[]))", [marks.map((m) => m[0])]);
  return (gone ?? 0) + (orphans ?? 0);
}

async function insertEvents(pool: pg.Pool, rows: Row[]): Promise<void> {
  const types = ["bigint", "text", "text", "text", "text", "text", "text", "bigint"];
  await pool.query(
    `INSERT INTO events (${COLUMNS.join(", ")}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(", ")})`,
    COLUMNS.map((_, i) => rows.map((r) => r[i])),
  );
}

/** Rows per INSERT when copying tables: well under PostgreSQL's 65,535 parameters for the widest table. */
const TABLE_CHUNK = 500;

/**
 * Replaces every table but the log with the file's rows, and sets where new
 * ids start, in one transaction: a run that dies here leaves the tables as
 * they were, and the rerun copies them again.
 */
async function replaceTables(source: Database.Database, pool: pg.Pool, head: number): Promise<number> {
  return inTransaction(pool, async (client) => {
    let copied = 0;
    // Referring tables first on the way out, referred ones first on the way in.
    for (const t of [...REPLICA_TABLES].reverse()) await client.query(`DELETE FROM ${quote(t.name)}`);
    for (const t of REPLICA_TABLES) {
      const chunk: unknown[][] = [];
      for (const row of source.prepare(`SELECT ${t.columns.map(quote).join(", ")} FROM ${quote(t.name)}`).raw().iterate() as Iterable<unknown[]>) {
        chunk.push(row);
        if (chunk.length === TABLE_CHUNK) copied += await insertRows(client, t, chunk.splice(0));
      }
      copied += await insertRows(client, t, chunk);
    }
    // The target's sequence never goes back: ids are never handed out twice, pruned ones included.
    if (head > 0) await client.query("SELECT setval('events_id_seq', GREATEST($1::bigint, (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq)))", [head]);
    return copied;
  });
}

async function insertRows(client: pg.PoolClient, table: TableShape, rows: unknown[][]): Promise<number> {
  if (rows.length === 0) return 0;
  const width = table.columns.length;
  const values = rows.map((_, r) => `(${table.columns.map((_, c) => `$${r * width + c + 1}`).join(", ")})`);
  await client.query(`INSERT INTO ${quote(table.name)} (${table.columns.map(quote).join(", ")}) VALUES ${values.join(", ")}`, rows.flat());
  return rows.length;
}

/** Events read per query while checksumming the target. */
const VERIFY_PAGE = 10_000;

/** Compares both sides: each tenant's count and id span, each table's row count, and a hash of every event. */
async function verify(source: Database.Database, pool: pg.Pool): Promise<{ events: number; tenants: number; checksum: string }> {
  const spans = "SELECT tenant, count(*) AS n, min(id) AS first, max(id) AS last FROM events GROUP BY tenant";
  // Sorted here: the two databases may collate text differently.
  const byTenant = (rows: unknown[][]) => rows.map((r) => [r[0], Number(r[1]), Number(r[2]), Number(r[3])]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  const mine = byTenant(source.prepare(spans).raw().all() as unknown[][]);
  const theirs = byTenant((await pool.query({ text: spans, rowMode: "array" })).rows);
  if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
    throw new MoveError(`verification failed: the events per tenant differ (file ${JSON.stringify(mine)}, target ${JSON.stringify(theirs)})`);
  }
  for (const t of REPLICA_TABLES) {
    const a = source.prepare(`SELECT count(*) FROM ${quote(t.name)}`).pluck().get() as number;
    const b = Number((await pool.query(`SELECT count(*) AS n FROM ${quote(t.name)}`)).rows[0].n);
    if (a !== b) throw new MoveError(`verification failed: table ${t.name} has ${a} rows in the file and ${b} in the target`);
  }
  const file = createHash("sha256");
  for (const row of source.prepare(`${SELECT} ORDER BY id`).raw().iterate() as Iterable<Row>) file.update(`${JSON.stringify(row)}\n`);
  const target = createHash("sha256");
  for (let after = 0; ; ) {
    const { rows } = await pool.query<unknown[]>({ text: `${SELECT} WHERE id > $1 ORDER BY id LIMIT $2`, values: [after, VERIFY_PAGE], rowMode: "array" });
    if (rows.length === 0) break;
    for (const r of rows) target.update(`${JSON.stringify(r.map((v, i) => (COLUMNS[i] === "id" || COLUMNS[i] === "ts" ? Number(v) : v)))}\n`);
    after = Number(rows[rows.length - 1][0]);
  }
  const checksum = file.digest("hex");
  if (target.digest("hex") !== checksum) throw new MoveError("verification failed: the events' checksums differ between the file and the target");
  return { events: mine.reduce((n, r) => n + (r[1] as number), 0), tenants: mine.length, checksum };
}

