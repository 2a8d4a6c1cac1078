import { and, asc, eq, ne, sql } from "drizzle-orm";
import { TENANT_PATTERN } from "../event.js";
import { TurnMemo } from "../turn-memo.js";
import type { Db } from "./db.js";
import { tenants } from "./schema.js";

export interface Tenant {
  slug: string;
  name: string;
  createdAt: number;
  /** When it was disabled; null while enabled. */
  disabledAt: number | null;
}

export class TenantError extends Error {}

/** Tenants: created by the CLI (or at first start), looked up on every request. */
export class TenantStore {
  // Tenants are never deleted, so a positive lookup can be cached for good;
  // misses are not cached, as the CLI may create a tenant while we run.
  readonly #known = new Set<string>();
  readonly #disabledAt;
  /** Read on every request for a tenant, once per turn of the loop: the CLI may disable a tenant while we run. */
  readonly #disabled = new TurnMemo<string, boolean>();

  constructor(private readonly db: Db) {
    this.#disabledAt = db.select({ at: tenants.disabledAt }).from(tenants).where(eq(tenants.slug, sql.placeholder("slug"))).prepare();
  }

  exists(slug: string): boolean {
    if (this.#known.has(slug)) return true;
    const row = this.db.select({ slug: tenants.slug }).from(tenants).where(eq(tenants.slug, slug)).get();
    if (row) this.#known.add(slug);
    return row !== undefined;
  }

  create(slug: string, name = slug): Tenant {
    if (!TENANT_PATTERN.test(slug)) {
      throw new TenantError(`"${slug}" is not a valid tenant slug: lower-case letters, digits and "-", starting with a letter or digit, at most 40 characters`);
    }
    if (this.exists(slug)) throw new TenantError(`tenant "${slug}" already exists`);
    const tenant = { slug, name, createdAt: Date.now(), disabledAt: null };
    this.db.insert(tenants).values(tenant).run();
    this.#known.add(slug);
    return tenant;
  }

  /**
   * Sets (or, with null, clears) the key Retell signs this tenant's webhooks
   * with. Not cached: the CLI may change it while the server runs. A secret
   * another tenant already has is refused: the signature is all a webhook
   * carries, so a shared secret would let each tenant's webhooks into the
   * other's log.
   */
  setRetellSecret(slug: string, secret: string | null): void {
    if (!this.exists(slug)) throw new TenantError(`no tenant "${slug}"`);
    if (secret !== null && (secret.length === 0 || /\s|[\u0000-\u001f\u007f]/.test(secret))) {
      throw new TenantError("the Retell secret must be non-empty, without spaces or control characters");
    }
    this.db.transaction((tx) => {
      const holder = secret === null ? undefined : tx.select({ slug: tenants.slug }).from(tenants).where(and(eq(tenants.retellSecret, secret), ne(tenants.slug, slug))).get();
      if (holder) {
        throw new TenantError(
          `tenant "${holder.slug}" already has this Retell secret, and a secret signs webhooks for one tenant only: ` +
            "a webhook signed with it could be either's. Give each tenant its own Retell account (or workspace) and key",
        );
      }
      tx.update(tenants).set({ retellSecret: secret }).where(eq(tenants.slug, slug)).run();
    });
  }

  /**
   * Whether another tenant has the same Retell secret (set before secrets
   * had to be distinct): such a tenant's webhooks are refused, as either
   * tenant could have signed them.
   */
  sharesRetellSecret(slug: string): boolean {
    const secret = this.retellSecret(slug);
    if (secret === null) return false;
    return this.db.select({ slug: tenants.slug }).from(tenants).where(and(eq(tenants.retellSecret, secret), ne(tenants.slug, slug))).get() !== undefined;
  }

  /** The key Retell signs this tenant's webhooks with; null when none is set (or no such tenant). */
  retellSecret(slug: string): string | null {
    return this.db.select({ secret: tenants.retellSecret }).from(tenants).where(eq(tenants.slug, slug)).get()?.secret ?? null;
  }

  /**
   * Disables (or, with false, enables again) a tenant: while disabled, every
   * request for it gets 403 and the server ends its open streams.
   */
  setDisabled(slug: string, disabled: boolean): void {
    if (!this.exists(slug)) throw new TenantError(`no tenant "${slug}"`);
    const at = disabled ? (this.#disabledAt.get({ slug })?.at ?? Date.now()) : null;
    this.db.update(tenants).set({ disabledAt: at }).where(eq(tenants.slug, slug)).run();
    this.#disabled.clear();
  }

  isDisabled(slug: string): boolean {
    return this.#disabled.get(slug, this.#lookupDisabled);
  }

  #lookupDisabled = (slug: string): boolean => (this.#disabledAt.get({ slug })?.at ?? null) !== null;

  list(): Tenant[] {
    return this.db
      .select({ slug: tenants.slug, name: tenants.name, createdAt: tenants.createdAt, disabledAt: tenants.disabledAt })
      .from(tenants)
      .orderBy(asc(tenants.slug))
      .all();
  }
}
