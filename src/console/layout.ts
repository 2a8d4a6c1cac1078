import { isAdmin, type ApiKey } from "../store/keys.js";
import type { TenantStore } from "../store/tenants.js";

/** Where a page is and for whom: what the layout's top bar shows. */
export interface PageAt {
  /** The tenant whose navigation the top bar offers, if any. */
  tenant: string | undefined;
  /** The page's path, to mark the current navigation link. */
  path: string;
  /** The session's CSRF token, for the sign-out form. */
  csrf: string;
}

/** What the layout needs on every page: who is signed in, where, and the tenant switcher. */
export function layoutFor(key: ApiKey, at: PageAt, tenants: Pick<TenantStore, "list">) {
  return {
    ...at,
    tenants: key.tenant === null ? tenants.list().map((t) => t.slug) : [key.tenant],
    /** A key bound to no tenant may switch between them; only an admin key also gets the all-tenants view. */
    switcher: key.tenant === null,
    admin: isAdmin(key),
    keyLabel: key.label || key.id,
  };
}
