import { and, asc, eq, gt, isNull, lte, sql } from "drizzle-orm";
import type { Db } from "./db.js";
import { apiKeys, consoleSessions } from "./schema.js";

/** A console session as stored: never the cookie's token, only its hash. */
export type ConsoleSession = typeof consoleSessions.$inferSelect;

/** A session with what `sessions list` shows of its key. */
export interface ListedSession extends ConsoleSession {
  tenant: string | null;
  keyLabel: string;
}

/**
 * Writes to console sessions. The server sends them to the log's writer
 * thread (the event loop never waits on the database's lock or its fsync);
 * the CLI applies them on its own connection. Both run `applySessionChange`.
 */
export type SessionChange =
  /** A new sign-in; sessions past their expiry are removed on the way. */
  | { op: "start"; session: ConsoleSession }
  | { op: "end"; id: string }
  /** Every session of a key (the key was revoked). */
  | { op: "end-key"; keyId: string }
  | { op: "seen"; id: string; at: number };

export class SessionError extends Error {}

/** Applies one change synchronously; returns how many sessions it ended (for `end` and `end-key`). */
export function applySessionChange(db: Db, change: SessionChange, now = Date.now()): number {
  switch (change.op) {
    case "start":
      return db.transaction((tx) => {
        tx.delete(consoleSessions).where(lte(consoleSessions.expiresAt, now)).run();
        // Ignored when already there: a node's replica may have it from PostgreSQL before its own write lands.
        tx.insert(consoleSessions).values(change.session).onConflictDoNothing().run();
        return 0;
      });
    case "end":
      return db.delete(consoleSessions).where(eq(consoleSessions.id, change.id)).run().changes;
    case "end-key":
      return db.delete(consoleSessions).where(eq(consoleSessions.keyId, change.keyId)).run().changes;
    case "seen":
      db.update(consoleSessions).set({ lastSeenAt: change.at }).where(eq(consoleSessions.id, change.id)).run();
      return 0;
  }
}

/**
 * Console sessions: looked up on every console request (a prepared
 * primary-key read on the caller's connection), written through `write`.
 */
export class SessionStore {
  readonly #byId;

  constructor(
    private readonly db: Db,
    /** Where changes go: the writer thread in the server, `applySessionChange` at once elsewhere. */
    readonly write: (change: SessionChange) => Promise<unknown>,
    /**
     * On a cluster (PostgreSQL): looks a session this node does not know up in the database, adding it
     * here when found (signed in on another node a moment ago); resolves whether it was found.
     */
    readonly fetch?: (id: string) => Promise<boolean>,
  ) {
    this.#byId = db.select().from(consoleSessions).where(eq(consoleSessions.id, sql.placeholder("id"))).prepare();
  }

  find(id: string): ConsoleSession | null {
    return this.#byId.get({ id }) ?? null;
  }

  /** Live sessions (not expired, key not revoked), oldest first, optionally of one tenant's keys. */
  list(options: { tenant?: string; now?: number } = {}): ListedSession[] {
    const now = options.now ?? Date.now();
    const live = and(gt(consoleSessions.expiresAt, now), isNull(apiKeys.revokedAt));
    const where = options.tenant === undefined ? live : and(live, eq(apiKeys.tenant, options.tenant));
    return this.db
      .select({ session: consoleSessions, tenant: apiKeys.tenant, keyLabel: apiKeys.label })
      .from(consoleSessions)
      .innerJoin(apiKeys, eq(apiKeys.id, consoleSessions.keyId))
      .where(where)
      .orderBy(asc(consoleSessions.createdAt))
      .all()
      .map((r) => ({ ...r.session, tenant: r.tenant, keyLabel: r.keyLabel }));
  }
}
