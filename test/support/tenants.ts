import pg from "pg";
import { isPostgresUrl } from "../../src/config.js";
import { openDb, type Db } from "../../src/store/db.js";
import { KeyStore, type Scope } from "../../src/store/keys.js";
import { changeAccess } from "../../src/store/postgres-access.js";
import { TenantStore } from "../../src/store/tenants.js";

/** What a test knows of its server: where it listens, and its database (a SQLite file beside it, or PostgreSQL). */
interface ServerDb {
  url: string;
  dbPath: string;
  config?: { DATABASE_URL: string };
}

/**
 * Runs `fn` on the test server's access tables as the CLI would: through a
 * second connection to its SQLite file, or on PostgreSQL (changeAccess, which
 * announces the change to every node).
 */
async function onAccess<T>(server: ServerDb, fn: (stores: { tenants: TenantStore; keys: KeyStore }) => T): Promise<T> {
  const url = server.config?.DATABASE_URL;
  const run = (db: Db) => fn({ tenants: new TenantStore(db), keys: new KeyStore(db) });
  if (url === undefined || !isPostgresUrl(url)) {
    const db = openDb(server.dbPath);
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
async function untilKnown(server: ServerDb, tenant: string, secret: string, known: boolean): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const res = await fetch(`${server.url}/api/v1/tenants/${tenant}/events?limit=1`, { headers: { authorization: `Bearer ${secret}` } });
    await res.body?.cancel();
    if ((res.status !== 401) === known) return;
  }
  throw new Error(`the server did not ${known ? "learn" : "forget"} the key in 30 s`);
}

/** Creates a tenant (when missing) and a key bound to it; returns the key's id and secret, once the server knows it. */
export async function tenantKey(server: ServerDb, tenant: string, scopes: Scope[] = ["read"]): Promise<{ id: string; secret: string }> {
  const made = await onAccess(server, ({ tenants, keys }) => {
    if (!tenants.exists(tenant)) tenants.create(tenant);
    const { key, secret } = keys.create({ tenant, scopes, label: `${tenant}-${scopes.join("-")}` });
    return { id: key.id, secret, tenant };
  });
  await untilKnown(server, tenant, made.secret, true);
  return { id: made.id, secret: made.secret };
}

/** Revokes a key, as `keys revoke` does. */
export async function revokeKey(server: ServerDb, id: string): Promise<void> {
  await onAccess(server, ({ keys }) => keys.revoke(id));
}
