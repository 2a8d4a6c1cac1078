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

/** A link of the tenant's navigation; `current` marks the section the page belongs to. */
export interface NavLink {
  label: string;
  href: string;
  current: boolean;
}

/** The tenant's sections, in the top bar's order, as paths under /t/:tenant. */
const SECTIONS: readonly (readonly [label: string, path: string])[] = [
  ["Overview", ""],
  ["Calls", "/calls"],
  ["Workflows", "/workflows"],
  ["Chat", "/sessions"],
  ["Channels", "/channels"],
  ["Agents", "/agents"],
  ["Mercure", "/mercure"],
  ["Activity", "/feed"],
  ["Stats", "/stats"],
];

/**
 * The tenant's navigation for a page at `path`: a section is current on its
 * own page and on every page under it (a call's page is under Calls); the
 * overview only on itself, since every page is under it.
 */
export function tenantNav(tenant: string, path: string): NavLink[] {
  const base = `/t/${encodeURIComponent(tenant)}`;
  return SECTIONS.map(([label, sub]) => {
    const href = base + sub;
    return { label, href, current: sub === "" ? path === base : path === href || path.startsWith(`${href}/`) };
  });
}

/** What the layout needs on every page: who is signed in, where, and the tenant switcher. */
export function layoutFor(key: ApiKey, at: PageAt, tenants: Pick<TenantStore, "list">) {
  return {
    ...at,
    nav: at.tenant ? tenantNav(at.tenant, at.path) : [],
    tenants: key.tenant === null ? tenants.list().map((t) => t.slug) : [key.tenant],
    /** A key bound to no tenant may switch between them; only an admin key also gets the all-tenants view. */
    switcher: key.tenant === null,
    admin: isAdmin(key),
    keyLabel: key.label || key.id,
  };
}
