import { SCOPES, type KeyStore } from "./store/keys.js";
import type { TenantStore } from "./store/tenants.js";

export const DEMO_TENANT = "demo";

/**
 * First start on a new database: create the `demo` tenant and an admin key.
 * Returns the new key's secret so it can be shown once, or null when the
 * database was already set up (or the key came from SWITCHBOARD_ADMIN_KEY,
 * which the operator already knows).
 */
export function bootstrap(tenants: TenantStore, keys: KeyStore, adminKey: string | undefined): { secret: string; generated: boolean } | null {
  if (keys.total() > 0) return null;
  if (!tenants.exists(DEMO_TENANT)) tenants.create(DEMO_TENANT, "Demo");
  const { secret } = keys.create({ tenant: null, scopes: SCOPES, label: "bootstrap admin", secret: adminKey });
  return { secret, generated: adminKey === undefined };
}
