import pg from "pg";
import { vi } from "vitest";
import { isPostgresUrl } from "../../src/config.js";
import { openDb, type Db } from "../../src/store/db.js";
import { KeyStore, type Scope } from "../../src/store/keys.js";
import { changeAccess } from "../../src/store/postgres-access.js";
import { TenantStore } from "../../src/store/tenants.js";
import { databaseOf, onPostgres, type ServerDb } from "./database.js";
import { ADMIN_KEY } from "./server.js";

/** What a test knows of its server: where it listens, and its database. */
type Server = ServerDb & { url: string };

/**
 * Runs `run` on the test server's access tables as the CLI would: through a
 * second connection to its SQLite file, or on PostgreSQL (changeAccess, which
 * announces the change to every node).
 */
export async function onAccess<T>(server: ServerDb, run: (db: Db) => T): Promise<T> {
  const url = databaseOf(server);
  if (!isPostgresUrl(url)) {
    const db = openDb(url);
    try {
      return run(db);
    } finally {
      db.$client.close();
    }
  }
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    return await changeAccess(pool, run);
  } finally {
    await pool.end();
  }
}

/** Until the server answers a request with `secret` as `known` says (a node reloads keys when a change is announced). */
export async function untilKnown(server: Server, tenant: string, secret: string, known: boolean): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const res = await fetch(`${server.url}/api/v1/tenants/${tenant}/events?limit=1`, { headers: { authorization: `Bearer ${secret}` } });
    await res.body?.cancel();
    if ((res.status !== 401) === known) return;
  }
  throw new Error(`the server did not ${known ? "learn" : "forget"} the key in 30 s`);
}

/** Creates a tenant, as `tenants create` does; resolves once the server knows it (the admin key's requests find it). */
export async function createTenant(server: Server, tenant: string): Promise<void> {
  await onAccess(server, (db) => new TenantStore(db).create(tenant));
  await vi.waitFor(
    async () => {
      const res = await fetch(`${server.url}/api/v1/tenants/${tenant}/events?limit=1`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      await res.body?.cancel();
      if (res.status === 404) throw new Error(`the server does not know tenant ${tenant} yet`);
    },
    { timeout: 30_000, interval: 20 },
  );
}

/**
 * Creates a key as `keys create` does (and its tenant, when missing); returns
 * its id and secret, once the server knows it. A key of no tenant is an
 * all-tenant key; `workers` binds a work key.
 */
export async function createKey(
  server: Server,
  options: { tenant: string | null; scopes: Scope[]; workers?: string[]; label?: string },
): Promise<{ id: string; secret: string }> {
  const { tenant, scopes } = options;
  const made = await onAccess(server, (db) => {
    const tenants = new TenantStore(db);
    if (tenant !== null && !tenants.exists(tenant)) tenants.create(tenant);
    const { key, secret } = new KeyStore(db).create({ ...options, label: options.label ?? `${tenant ?? "all"}-${scopes.join("-")}` });
    return { id: key.id, secret };
  });
  // Any tenant's route tells a known key (200 or 403) from an unknown one (401); every test server has demo.
  await untilKnown(server, tenant ?? "demo", made.secret, true);
  return made;
}

/** Creates a tenant (when missing) and a key bound to it; returns the key's id and secret, once the server knows it. */
export function tenantKey(server: Server, tenant: string, scopes: Scope[] = ["read"]): Promise<{ id: string; secret: string }> {
  return createKey(server, { tenant, scopes });
}

/**
 * Revokes a key, as `keys revoke` does. Given the key's tenant and secret,
 * resolves once the server refuses it: on SQLite the server reads the file
 * the change went to, so that is at once; a PostgreSQL node hears of it
 * when the change is announced.
 */
export async function revokeKey(server: Server, id: string, known?: { tenant: string; secret: string }): Promise<void> {
  await onAccess(server, (db) => new KeyStore(db).revoke(id));
  if (known && onPostgres(server)) await untilKnown(server, known.tenant, known.secret, false);
}

/**
 * Writes the access tables (tenants, keys, sessions, settings) with raw SQL,
 * as an older release left them, then announces it as the CLI does, so the
 * server reads it as a change made while it runs.
 */
export async function writeAccess(server: ServerDb, sql: string, ...params: unknown[]): Promise<void> {
  await onAccess(server, (db) => db.$client.prepare(sql).run(...params));
}
