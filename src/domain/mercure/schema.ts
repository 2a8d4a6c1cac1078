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
