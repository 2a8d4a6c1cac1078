import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Milliseconds since the epoch; every timestamp column uses it. */
const millis = (name: string) => integer(name).notNull();

export const tenants = sqliteTable("tenants", {
  slug: text("slug").primaryKey(),
  name: text("name").notNull(),
  createdAt: millis("created_at"),
  /**
   * Highest event id retention has removed for this tenant: a client whose
   * position is below it has missed events and is told so with a reset.
   */
  prunedThrough: integer("pruned_through").notNull().default(0),
  /** Key Retell signs this tenant's webhooks with (set by the CLI); null: webhooks refused. */
  retellSecret: text("retell_secret"),
  /** When the CLI disabled the tenant; null while it is enabled. A disabled tenant's requests get 403 and its streams end. */
  disabledAt: integer("disabled_at"),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    /** Public identifier shown in listings and used to revoke; never a secret. */
    id: text("id").primaryKey(),
    /** SHA-256 of the whole secret key, hex. */
    hash: text("hash").notNull(),
    /** Null for admin keys, which reach every tenant. */
    tenant: text("tenant").references(() => tenants.slug),
    /** Comma-separated scopes: read, publish, control, work, admin. */
    scopes: text("scopes").notNull(),
    /**
     * The workers a key with the work scope may speak for, as a JSON array of
     * ids and globs (src/worker-binding.ts); null: any worker.
     */
    workers: text("workers"),
    label: text("label").notNull().default(""),
    createdAt: millis("created_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash_idx").on(t.hash)],
);

/**
 * Console sessions: a browser's sign-in with a key. The cookie names the
 * session and carries a secret token of which only the hash is stored, so
 * ending a session (logout, `sessions end`, revoking its key) makes every
 * copy of the cookie worthless at once.
 */
export const consoleSessions = sqliteTable(
  "console_sessions",
  {
    /** Public identifier shown by `sessions list` and used to end a session; never a secret. */
    id: text("id").primaryKey(),
    /** SHA-256 of the cookie's secret token, hex. */
    tokenHash: text("token_hash").notNull(),
    /** The key the session was signed in with; a revoked key ends its sessions. */
    keyId: text("key_id")
      .notNull()
      .references(() => apiKeys.id),
    createdAt: millis("created_at"),
    /** Updated at most once a minute (see src/console/session.ts). */
    lastSeenAt: millis("last_seen_at"),
    expiresAt: millis("expires_at"),
    /** For display only, so an admin can tell sessions apart. */
    userAgent: text("user_agent").notNull().default(""),
    address: text("address").notNull().default(""),
  },
  (t) => [index("console_sessions_key_idx").on(t.keyId), index("console_sessions_expires_idx").on(t.expiresAt)],
);

/**
 * Each tenant's Mercure hub, as the `mercure` CLI sets it (src/store/mercure-settings.ts);
 * a tenant without a row has the defaults: no keys, no anonymous subscribers,
 * no subscriptions API, no CORS origins.
 */
export const mercureSettings = sqliteTable("mercure_settings", {
  tenant: text("tenant")
    .primaryKey()
    .references(() => tenants.slug),
  /** The publisher key's kind: `hmac`, or a public key's algorithm (RS256, ES256, EdDSA); null: no key. */
  publisherAlg: text("publisher_alg"),
  /** The HMAC secret, or the public key as SPKI PEM. */
  publisherKey: text("publisher_key"),
  subscriberAlg: text("subscriber_alg"),
  subscriberKey: text("subscriber_key"),
  /** Subscribers without a token (public updates only). */
  anonymous: integer("anonymous", { mode: "boolean" }).notNull().default(false),
  /** Subscription events and the subscriptions API. */
  subscriptions: integer("subscriptions", { mode: "boolean" }).notNull().default(false),
  /** Origins allowed to call the hub from a browser, as a JSON array (never `*`). */
  corsOrigins: text("cors_origins").notNull().default("[]"),
  /** 1.0 tokens' `iss` must equal it when set. */
  issuer: text("issuer"),
  /** The resource identifier 1.0 tokens' `aud` must hold; null: the hub's URL. */
  audience: text("audience"),
  updatedAt: millis("updated_at"),
});

/** Values the server keeps for itself, by name (the generated session secret). */
export const settings = sqliteTable("settings", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});

/**
 * Each API key's publishing allowance shared by the nodes of a cluster (see
 * SharedRateLimiter): a token bucket, refilled by whoever next takes from
 * it. A single host keeps its buckets in memory and leaves this empty.
 */
export const rateBuckets = sqliteTable("rate_buckets", {
  keyId: text("key_id").primaryKey(),
  tokens: real("tokens").notNull(),
  /** When `tokens` was last brought up to date, by the database's clock. */
  at: millis("at"),
});

/**
 * How many streams each node of a cluster has open per tenant, as it last
 * reported (see StreamCensus): the stream cap counts every node's. A node
 * not heard from for a few seconds is not counted. A single host leaves
 * this empty.
 */
export const nodeStreams = sqliteTable(
  "node_streams",
  {
    node: text("node").notNull(),
    /** A tenant's slug, or "*" for the admin streams across every tenant. */
    tenant: text("tenant").notNull(),
    streams: integer("streams").notNull(),
    /** When the node last reported, by the database's clock. */
    at: millis("at"),
  },
  (t) => [primaryKey({ columns: [t.node, t.tenant] })],
);

/**
 * The workers whose command streams each node of a cluster holds, as it
 * last reported (see StreamCensus): an agent is present while any node
 * that is still heard from holds its stream. A single host leaves this empty.
 */
export const nodeWorkers = sqliteTable(
  "node_workers",
  {
    node: text("node").notNull(),
    tenant: text("tenant").notNull(),
    worker: text("worker").notNull(),
    /** When the node last reported, by the database's clock. */
    at: millis("at"),
  },
  (t) => [primaryKey({ columns: [t.node, t.tenant, t.worker] })],
);

export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenant: text("tenant").notNull(),
    type: text("type").notNull(),
    subject: text("subject"),
    /** The event's data object, as compact JSON text. */
    data: text("data").notNull(),
    key: text("key"),
    /** With a key: a hash of the event it was first used for (src/fingerprint.ts); null for older events. */
    keyFingerprint: text("key_fingerprint"),
    ts: millis("ts"),
  },
  (t) => [
    index("events_tenant_id_idx").on(t.tenant, t.id),
    // Type and subject filters read through these, in id order, never through all of a tenant's events
    // (src/store/event-reads.ts). Subject-less events stay out of the subject index.
    index("events_tenant_type_id_idx").on(t.tenant, t.type, t.id),
    index("events_tenant_subject_id_idx").on(t.tenant, t.subject, t.id).where(sql`${t.subject} IS NOT NULL`),
    uniqueIndex("events_tenant_key_idx").on(t.tenant, t.key).where(sql`${t.key} IS NOT NULL`),
  ],
);

/**
 * How many retained events each tenant has of each type: the summary a type
 * glob is resolved against (to the concrete types that exist, each read
 * through its index) and the stats page counts from. Kept in step with the
 * log inside the append and retention transactions (src/store/type-counts.ts);
 * a row whose count reaches 0 is removed.
 */
export const eventTypeCounts = sqliteTable(
  "event_type_counts",
  {
    tenant: text("tenant").notNull(),
    type: text("type").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenant, t.type] })],
);
