import type Database from "better-sqlite3";

/** What open streams were granted through: the distinct keys, tenants and console sessions. */
export interface InUse {
  keys: readonly string[];
  tenants: readonly string[];
  sessions: readonly string[];
}

/** Which of them no longer hold: keys revoked, tenants disabled, sessions ended (gone) or expired. */
export interface Lapsed {
  keys: string[];
  tenants: string[];
  sessions: { id: string; expired: boolean }[];
}

/**
 * One query answers which grants in use have lapsed: a primary-key lookup
 * per distinct id, whatever the number of streams sharing it. The ids go in
 * as JSON arrays (json_each), so the statement is prepared once.
 */
const LAPSED = `
  SELECT 'key' AS kind, j.value AS id, 0 AS expired
    FROM json_each(@keys) j LEFT JOIN api_keys k ON k.id = j.value AND k.revoked_at IS NULL
    WHERE k.id IS NULL
  UNION ALL
  SELECT 'tenant', j.value, 0
    FROM json_each(@tenants) j JOIN tenants t ON t.slug = j.value
    WHERE t.disabled_at IS NOT NULL
  UNION ALL
  SELECT 'session', j.value, s.id IS NOT NULL
    FROM json_each(@sessions) j LEFT JOIN console_sessions s ON s.id = j.value
    WHERE s.id IS NULL OR s.expires_at <= @now`;

export class AccessStore {
  readonly #lapsed: Database.Statement;

  constructor(sqlite: Database.Database) {
    this.#lapsed = sqlite.prepare(LAPSED);
  }

  lapsed(inUse: InUse, now = Date.now()): Lapsed {
    const rows = this.#lapsed.all({
      keys: JSON.stringify(inUse.keys),
      tenants: JSON.stringify(inUse.tenants),
      sessions: JSON.stringify(inUse.sessions),
      now,
    }) as { kind: "key" | "tenant" | "session"; id: string; expired: number }[];
    const out: Lapsed = { keys: [], tenants: [], sessions: [] };
    for (const r of rows) {
      if (r.kind === "key") out.keys.push(r.id);
      else if (r.kind === "tenant") out.tenants.push(r.id);
      else out.sessions.push({ id: r.id, expired: r.expired === 1 });
    }
    return out;
  }
}
