import { eq, sql } from "drizzle-orm";
import { hmacKey, MercureKeyError, publicKey, type MercureKey, type MercureKeys } from "../mercure/keys.js";
import { OriginError, parseOrigin } from "../mercure/origins.js";
import type { Db } from "./db.js";
import { mercureSettings } from "./schema.js";
import { TenantStore } from "./tenants.js";

/** A tenant's Mercure hub settings. */
export interface MercureSettings {
  readonly tenant: string;
  readonly publisherKey: MercureKey | null;
  readonly subscriberKey: MercureKey | null;
  /** Subscribers without a token, who get public updates only (default off). */
  readonly anonymous: boolean;
  /** Subscription events and the subscriptions API (default off). */
  readonly subscriptions: boolean;
  /** Origins allowed to call the hub from a browser; never `*`. */
  readonly corsOrigins: readonly string[];
  /** 1.0 tokens' `iss` must equal it when set. */
  readonly issuer: string | null;
  /** The resource identifier 1.0 tokens' `aud` must hold; null: the hub's URL. */
  readonly audience: string | null;
}

export type MercureSettingsChange = Partial<Omit<MercureSettings, "tenant">>;

export class MercureSettingsError extends Error {}

export const MAX_CORS_ORIGINS = 100;
const MAX_IDENTIFIER = 2048;

const defaults = (tenant: string): MercureSettings => ({
  tenant,
  publisherKey: null,
  subscriberKey: null,
  anonymous: false,
  subscriptions: false,
  corsOrigins: [],
  issuer: null,
  audience: null,
});

type Row = typeof mercureSettings.$inferSelect;

const keyOf = (alg: string | null, text: string | null): MercureKey | null =>
  alg === null || text === null ? null : alg === "hmac" ? { kind: "hmac", secret: text } : { kind: "public", alg: alg as "RS256", pem: text };
const columnsOf = (key: MercureKey | null): [string | null, string | null] =>
  key === null ? [null, null] : key.kind === "hmac" ? ["hmac", key.secret] : [key.alg, key.pem];

const toSettings = (r: Row): MercureSettings => ({
  tenant: r.tenant,
  publisherKey: keyOf(r.publisherAlg, r.publisherKey),
  subscriberKey: keyOf(r.subscriberAlg, r.subscriberKey),
  anonymous: r.anonymous,
  subscriptions: r.subscriptions,
  corsOrigins: JSON.parse(r.corsOrigins) as string[],
  issuer: r.issuer,
  audience: r.audience,
});

/** A key as the store keeps it: checked again, so no unchecked key reaches the table whoever builds one. */
const checked = (key: MercureKey | null): MercureKey | null => (key === null ? null : key.kind === "hmac" ? hmacKey(key.secret) : publicKey(key.pem, key.alg));

function identifier(value: string | null, name: string): string | null {
  if (value === null) return null;
  if (value.length === 0 || value.length > MAX_IDENTIFIER || /[\u0000-\u001f\u007f]/.test(value) || value.trim() !== value) {
    throw new MercureSettingsError(`the ${name} must be 1 to ${MAX_IDENTIFIER} characters, without control characters or surrounding spaces`);
  }
  return value;
}

/**
 * Each tenant's Mercure settings: written by the CLI, read by the hub on
 * every request that needs them (never cached: the CLI may change them
 * while the server runs; on a cluster every node's replica reloads them
 * with the other access tables).
 */
export class MercureSettingsStore {
  readonly #get;

  constructor(private readonly db: Db) {
    this.#get = db.select().from(mercureSettings).where(eq(mercureSettings.tenant, sql.placeholder("tenant"))).prepare();
  }

  /** The tenant's settings; the defaults when none were set. */
  get(tenant: string): MercureSettings {
    const row = this.#get.get({ tenant });
    return row ? toSettings(row) : defaults(tenant);
  }

  /** Changes some settings of a tenant, checking each; returns them all as they now are. */
  set(tenant: string, change: MercureSettingsChange): MercureSettings {
    if (!new TenantStore(this.db).exists(tenant)) throw new MercureSettingsError(`no tenant "${tenant}"`);
    // Only what the change names: an absent or undefined setting keeps its value, null clears it.
    const named = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) as MercureSettingsChange;
    let next: MercureSettings;
    try {
      next = {
        ...this.get(tenant),
        ...named,
        ...(named.publisherKey !== undefined && { publisherKey: checked(named.publisherKey) }),
        ...(named.subscriberKey !== undefined && { subscriberKey: checked(named.subscriberKey) }),
      };
    } catch (err) {
      if (err instanceof MercureKeyError) throw new MercureSettingsError(err.message);
      throw err;
    }
    let origins: string[];
    try {
      origins = [...new Set(next.corsOrigins.map(parseOrigin))];
    } catch (err) {
      if (err instanceof OriginError) throw new MercureSettingsError(err.message);
      throw err;
    }
    if (origins.length > MAX_CORS_ORIGINS) throw new MercureSettingsError(`at most ${MAX_CORS_ORIGINS} CORS origins`);
    const [publisherAlg, publisherKey] = columnsOf(next.publisherKey);
    const [subscriberAlg, subscriberKey] = columnsOf(next.subscriberKey);
    const row: Row = {
      tenant,
      publisherAlg,
      publisherKey,
      subscriberAlg,
      subscriberKey,
      anonymous: next.anonymous,
      subscriptions: next.subscriptions,
      corsOrigins: JSON.stringify(origins),
      issuer: identifier(next.issuer, "issuer"),
      audience: identifier(next.audience, "audience"),
      updatedAt: Date.now(),
    };
    const { tenant: _, ...values } = row;
    this.db.insert(mercureSettings).values(row).onConflictDoUpdate({ target: mercureSettings.tenant, set: values }).run();
    return toSettings(row);
  }
}

/** What verifyToken trusts for a tenant, from its settings. */
export const mercureKeys = (s: MercureSettings): MercureKeys => ({ publisher: s.publisherKey, subscriber: s.subscriberKey, issuer: s.issuer, audience: s.audience });
