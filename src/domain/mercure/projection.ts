import { createHash } from "node:crypto";
import { sql, type Column } from "drizzle-orm";
import type { StoredEvent } from "../../event.js";
import { MERCURE_SUBSCRIPTION, MERCURE_UPDATE, type MercureUpdate } from "../../mercure/update.js";
import type { Db } from "../../store/db.js";
import type { Data, Projection } from "../domain.js";
import { mercureSubscriptions, mercureTopics } from "./schema.js";

/** A topic's key in `mercure_topics` (and a subscription topic's in `mercure_subscriptions`). */
export const topicHash = (topic: string): string => createHash("sha256").update(topic).digest("hex");

/**
 * Counts an update on its canonical topic (the first) and records it as the
 * topic's last, in one statement: the row is made by the topic's first update.
 * Alternate topics are not counted: they are other names of the same
 * resource, and the canonical topic is what a publisher publishes on.
 */
export async function projectUpdate(db: Db, e: StoredEvent, data: Data): Promise<void> {
  if (e.type === MERCURE_SUBSCRIPTION) return projectSubscription(db, e, data as unknown as MercureUpdate);
  if (e.type !== MERCURE_UPDATE) return;
  const update = data as unknown as MercureUpdate;
  const topic = update.topics[0];
  let upsert = topicUpserts.get(db);
  if (!upsert) topicUpserts.set(db, (upsert = prepareTopicUpsert(db)));
  await upsert.execute({
    tenant: e.tenant,
    topicHash: topicHash(topic),
    topic,
    lastEventId: e.id,
    lastUpdateId: e.subject!,
    lastType: update.type ?? null,
    lastPrivate: update.private === true,
    lastPublishedAt: e.ts,
  });
}

/**
 * The topic upsert, built once for each connection it runs on and given each
 * update's values: built (drizzle) and compiled (SQLite) anew for every
 * update, it cost the log's writer more than the rest of a Mercure publish,
 * and made a Mercure delivery 1.3–1.5× as dear as a native one at 200
 * streams (bench/README.md, "Mercure fan-out beside native streams"). The
 * SQLite writer keeps one connection for good; a PostgreSQL node gets a
 * connection per commit group.
 */
const topicUpserts = new WeakMap<Db, ReturnType<typeof prepareTopicUpsert>>();

function prepareTopicUpsert(db: Db) {
  const t = mercureTopics;
  const p = sql.placeholder;
  // The row the insert would have made: its last update's fields are the topic's new ones.
  const excluded = (column: Column) => sql`excluded.${sql.identifier(column.name)}`;
  return db
    .insert(t)
    .values({
      tenant: p("tenant"),
      topicHash: p("topicHash"),
      topic: p("topic"),
      updates: 1,
      lastEventId: p("lastEventId"),
      lastUpdateId: p("lastUpdateId"),
      lastType: p("lastType"),
      lastPrivate: p("lastPrivate"),
      lastPublishedAt: p("lastPublishedAt"),
    })
    .onConflictDoUpdate({
      target: [t.tenant, t.topicHash],
      set: {
        updates: sql`${t.updates} + 1`,
        lastEventId: excluded(t.lastEventId),
        lastUpdateId: excluded(t.lastUpdateId),
        lastType: excluded(t.lastType),
        lastPrivate: excluded(t.lastPrivate),
        lastPublishedAt: excluded(t.lastPublishedAt),
      },
    })
    .prepare();
}

/**
 * A subscription event: the subscription's row takes its latest document,
 * whether it is active, and the node whose stream holds it. Its topic is
 * its id; the collection it is listed in (one matcher's subscriptions) is
 * that topic without its last segment, the subscriber.
 */
async function projectSubscription(db: Db, e: StoredEvent, update: MercureUpdate): Promise<void> {
  const topic = update.topics[0];
  const document = update.data ?? "{}";
  const { subscriber, active } = JSON.parse(document) as { subscriber: string; active: boolean };
  const row = {
    topic,
    collectionHash: topicHash(topic.slice(0, topic.lastIndexOf("/"))),
    subscriber,
    active: active === true,
    node: update.node ?? "local",
    document,
    lastEventId: e.id,
    lastUpdateId: e.subject!,
    updatedAt: e.ts,
  };
  await db
    .insert(mercureSubscriptions)
    .values({ tenant: e.tenant, topicHash: topicHash(topic), ...row })
    .onConflictDoUpdate({ target: [mercureSubscriptions.tenant, mercureSubscriptions.topicHash], set: row });
}

/** The Mercure topics' summary and subscriptions, kept by the log's writer. */
export const mercureProjection: Projection = { topics: ["mercure"], project: projectUpdate };
