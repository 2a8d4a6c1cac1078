import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Every Mercure topic a tenant's updates were published on (their canonical
 * topic, the first), with its last update: what the console's Mercure page
 * lists. Kept in step with the log by the projection, in the append
 * transaction. Like every projection it is kept regardless of retention:
 * `updates` counts every update ever published on the topic, those
 * retention has since pruned from the log included, and a topic stays
 * listed after its last update is pruned.
 */
export const mercureTopics = sqliteTable(
  "mercure_topics",
  {
    tenant: text("tenant").notNull(),
    /**
     * SHA-256 of the topic, hex: the row's key. A topic may be 2,048
     * characters, past what one entry of a PostgreSQL index holds.
     */
    topicHash: text("topic_hash").notNull(),
    topic: text("topic").notNull(),
    /** Updates published on it so far. */
    updates: integer("updates").notNull(),
    /** The log position of its last update. */
    lastEventId: integer("last_event_id").notNull(),
    /** The Mercure id of its last update: the publisher's, or the `urn:uuid:` the hub made. */
    lastUpdateId: text("last_update_id").notNull(),
    /** The SSE type of its last update; null when the publisher gave none. */
    lastType: text("last_type"),
    /** Whether its last update was private. */
    lastPrivate: integer("last_private", { mode: "boolean" }).notNull(),
    lastPublishedAt: integer("last_published_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.topicHash] }),
    // The console's list: most recently published first, by keyset (src/domain/mercure/queries.ts).
    index("mercure_topics_tenant_published_idx").on(t.tenant, t.lastPublishedAt, t.lastEventId),
  ],
);

/**
 * Every Mercure subscription a tenant's subscription events announced (see
 * src/mercure/subscription-events.ts), with its latest document: what the
 * subscriptions API lists. Kept in step with the log by the projection; a
 * subscription whose node went away without announcing its end is ended
 * by the hub (src/mercure/subscription-sweep.ts).
 */
export const mercureSubscriptions = sqliteTable(
  "mercure_subscriptions",
  {
    tenant: text("tenant").notNull(),
    /** SHA-256 of `topic`, hex: the row's key (a topic may be longer than an index entry holds). */
    topicHash: text("topic_hash").notNull(),
    /** The topic of its events, `{hub}/subscriptions/…`: its id and its path in the subscriptions API. */
    topic: text("topic").notNull(),
    /** SHA-256 of the collection it belongs to: the topic without its last segment (`/{subscriber}`). */
    collectionHash: text("collection_hash").notNull(),
    subscriber: text("subscriber").notNull(),
    active: integer("active", { mode: "boolean" }).notNull(),
    /** The node whose stream holds it (a cluster's node id; "local" on a single host). */
    node: text("node").notNull(),
    /** Its latest document, as its latest event carried it (JSON). */
    document: text("document").notNull(),
    /** The log position and the Mercure id of its latest event. */
    lastEventId: integer("last_event_id").notNull(),
    lastUpdateId: text("last_update_id").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.topicHash] }),
    // The API's collections: a tenant's active subscriptions, all or one matcher's, in the order they started.
    index("mercure_subscriptions_active_idx").on(t.tenant, t.active, t.collectionHash, t.lastEventId),
    // The hub's sweep of subscriptions whose node went away.
    index("mercure_subscriptions_node_idx").on(t.active, t.node),
    // The API's cursor: the tenant's latest subscription event.
    index("mercure_subscriptions_latest_idx").on(t.tenant, t.lastEventId),
  ],
);
