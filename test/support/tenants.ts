import { openDb } from "../../src/store/db.js";
import { KeyStore, type Scope } from "../../src/store/keys.js";
import { TenantStore } from "../../src/store/tenants.js";

/** Runs `fn` on the test server's database file, through a second connection, as the CLI would. */
function onDb<T>(dbPath: string, fn: (stores: { tenants: TenantStore; keys: KeyStore }) => T): T {
  const db = openDb(dbPath);
  try {
    return fn({ tenants: new TenantStore(db), keys: new KeyStore(db) });
  } finally {
    db.$client.close();
  }
}

/** Creates a tenant (when missing) and a key bound to it; returns the key's id and secret. */
export function tenantKey(server: { dbPath: string }, tenant: string, scopes: Scope[] = ["read"]): { id: string; secret: string } {
  return onDb(server.dbPath, ({ tenants, keys }) => {
    if (!tenants.exists(tenant)) tenants.create(tenant);
    const { key, secret } = keys.create({ tenant, scopes, label: `${tenant}-${scopes.join("-")}` });
    return { id: key.id, secret };
  });
}

export function revokeKey(server: { dbPath: string }, id: string): void {
  onDb(server.dbPath, ({ keys }) => keys.revoke(id));
}
