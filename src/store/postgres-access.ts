import pg from "pg";
import type { Logger } from "../logger.js";
import { openDb, type Db } from "./db.js";
import { inTransaction } from "./postgres-transaction.js";
import type { Replica } from "./replica.js";
import { ACCESS_TABLES, diffTables, loadSqlite, readPostgres, readSqlite, writePostgres } from "./replica-tables.js";
import type { SessionChange } from "./sessions.js";

/** The channel a change of the access tables (tenants, keys, sessions, settings, retention's marks) is announced on. */
export const ACCESS_CHANNEL = "switchboard_access";

/** Taken by every writer of the access tables: each change is made against the tables as the last one left them. */
export const ACCESS_LOCK = 0x5357_4143; // "SWAC"

/**
 * Runs `change` (the stores' own synchronous code: TenantStore, KeyStore,
 * applySessionChange, storedSessionSecret) against PostgreSQL's access
 * tables: under ACCESS_LOCK, the tables are copied into a scratch SQLite
 * database, `change` runs there, and what it changed is written back and
 * announced on ACCESS_CHANNEL, all in one transaction. The stores stay one
 * class per concept, and their checks (a tenant exists, a Retell secret is
 * not another tenant's) see the database's current rows. A change that
 * throws leaves PostgreSQL untouched.
 */
export async function changeAccess<T>(pool: pg.Pool, change: (db: Db) => T): Promise<T> {
  const scratch = openDb(":memory:");
  try {
    return await inTransaction(pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1)", [ACCESS_LOCK]);
      const before = await readPostgres(client, ACCESS_TABLES);
      loadSqlite(scratch.$client, before);
      const result = change(scratch);
      const changed = await writePostgres(client, diffTables(ACCESS_TABLES, before, readSqlite(scratch.$client, ACCESS_TABLES)));
      if (changed > 0) await client.query("SELECT pg_notify($1, '')", [ACCESS_CHANNEL]);
      return result;
    });
  } finally {
    scratch.$client.close();
  }
}

/**
 * A node's access tables on PostgreSQL: changes go there (and are
 * announced), and the node's replica reloads them whole whenever any node
 * announces one, when its listening connection comes back (announcements
 * may have been missed meanwhile), and at once after a change of its own,
 * so a login followed by its redirect finds the session on the same node.
 */
export class PostgresAccess {
  #listener: pg.Client | null = null;
  #reloading: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  private constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly replica: Replica,
    private readonly logger: Logger,
  ) {}

  static async start(url: string, pool: pg.Pool, replica: Replica, logger: Logger): Promise<PostgresAccess> {
    const access = new PostgresAccess(url, pool, replica, logger);
    await access.#listen();
    return access;
  }

  /** Runs a change of the stores against PostgreSQL (see changeAccess), then reloads this node's replica. */
  async change<T>(change: (db: Db) => T): Promise<T> {
    const result = await changeAccess(this.pool, change);
    await this.reload();
    return result;
  }

  /**
   * A console session change (SessionStore's writes): to PostgreSQL first,
   * then this replica. "Last seen" is for display only and goes unannounced:
   * it would make every node reload on every active operator's minute.
   */
  async writeSession(change: SessionChange): Promise<number> {
    const changed = await inTransaction(this.pool, async (client) => {
      const rows = await applyToPostgres(client, change);
      if (change.op !== "seen") await client.query("SELECT pg_notify($1, '')", [ACCESS_CHANNEL]);
      return rows;
    });
    await this.replica.write(change);
    return changed;
  }

  /**
   * A session this replica does not know, looked up in PostgreSQL: signed
   * in on another node a moment ago, before this one reloaded. Found, it is
   * added to the replica; resolves whether it was.
   */
  async fetchSession(id: string): Promise<boolean> {
    const { rows } = await this.pool.query("SELECT 1 FROM console_sessions WHERE id = $1", [id]);
    if (rows.length === 0) return false;
    // Its key may be new too: the reload brings both, in one snapshot.
    await this.reload();
    return true;
  }

  /** Reloads the access tables into the replica; one reload at a time, and one more if asked meanwhile. */
  reload(): Promise<void> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      do {
        this.#again = false;
        const client = await this.pool.connect();
        let tables;
        try {
          await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
          tables = await readPostgres(client, ACCESS_TABLES);
          await client.query("COMMIT");
        } finally {
          client.release();
        }
        await this.replica.load(tables);
      } while (this.#again);
    })().finally(() => (this.#reloading = null));
    return this.#reloading;
  }

  #reloadLogged(): void {
    this.reload().catch((err: Error) => this.logger.warn("reloading the access tables failed; retrying at the next announcement", { error: err.message }));
  }

  async #listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", () => this.#reloadLogged());
    const lost = () => {
      if (this.#listener !== client || this.#stopped) return;
      this.#listener = null;
      const retry = (): void => {
        if (this.#stopped) return;
        this.#listen().catch(() => setTimeout(retry, 500).unref());
      };
      setTimeout(retry, 100).unref();
    };
    client.on("error", lost);
    client.on("end", lost);
    await client.connect();
    await client.query(`LISTEN ${ACCESS_CHANNEL}`);
    this.#listener = client;
    // Announcements made while not listening were heard by nobody here.
    this.#reloadLogged();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const listener = this.#listener;
    this.#listener = null;
    await listener?.end().catch(() => undefined);
    await this.#reloading?.catch(() => undefined);
  }
}

/** applySessionChange's PostgreSQL form: the same four changes. */
async function applyToPostgres(client: pg.ClientBase, change: SessionChange, now = Date.now()): Promise<number> {
  switch (change.op) {
    case "start": {
      const s = change.session;
      await client.query("DELETE FROM console_sessions WHERE expires_at <= $1", [now]);
      await client.query(
        `INSERT INTO console_sessions (id, token_hash, key_id, created_at, last_seen_at, expires_at, user_agent, address)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [s.id, s.tokenHash, s.keyId, s.createdAt, s.lastSeenAt, s.expiresAt, s.userAgent, s.address],
      );
      return 0;
    }
    case "end":
      return (await client.query("DELETE FROM console_sessions WHERE id = $1", [change.id])).rowCount ?? 0;
    case "end-key":
      return (await client.query("DELETE FROM console_sessions WHERE key_id = $1", [change.keyId])).rowCount ?? 0;
    case "seen":
      await client.query("UPDATE console_sessions SET last_seen_at = $1 WHERE id = $2", [change.at, change.id]);
      return 0;
  }
}
