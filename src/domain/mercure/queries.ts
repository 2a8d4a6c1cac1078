import { and, asc, desc, eq, lt, notInArray } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { olderThan, pageOf, type Cursor, type Page } from "../../store/keyset.js";
import { topicHash } from "./projection.js";
import { mercureSubscriptions, mercureTopics } from "./schema.js";

export type MercureTopic = typeof mercureTopics.$inferSelect;

/** How many topics a page of the list shows. */
export const TOPICS_PAGE = 50;

/**
 * One page of a tenant's topics, most recently published first, after the
 * cursor (the previous page's last topic: its last publish time and event
 * id): one seek on `mercure_topics_tenant_published_idx`, however deep.
 */
export function topicsPage(db: Db, tenant: string, cursor: Cursor | null, size = TOPICS_PAGE): Page<MercureTopic> {
  const rows = db
    .select()
    .from(mercureTopics)
    .where(and(eq(mercureTopics.tenant, tenant), olderThan(cursor, mercureTopics.lastPublishedAt, mercureTopics.lastEventId)))
    .orderBy(desc(mercureTopics.lastPublishedAt), desc(mercureTopics.lastEventId))
    .limit(size + 1)
    .all();
  return pageOf(rows, size, (t) => ({ at: t.lastPublishedAt, id: t.lastEventId }));
}

export type MercureSubscription = typeof mercureSubscriptions.$inferSelect;

/** The most subscriptions one answer of the subscriptions API lists (the drafts let a hub truncate). */
export const SUBSCRIPTIONS_LIMIT = 1000;

/**
 * A tenant's active subscriptions, oldest first: all of them, or one
 * collection's (one matcher's: the subscription topics without their last
 * segment), through `mercure_subscriptions_active_idx`.
 */
export function activeSubscriptions(db: Db, tenant: string, collection: string | null, limit = SUBSCRIPTIONS_LIMIT): MercureSubscription[] {
  const inCollection = collection === null ? undefined : eq(mercureSubscriptions.collectionHash, topicHash(collection));
  return db
    .select()
    .from(mercureSubscriptions)
    .where(and(eq(mercureSubscriptions.tenant, tenant), eq(mercureSubscriptions.active, true), inCollection))
    .orderBy(asc(mercureSubscriptions.lastEventId))
    .limit(limit)
    .all();
}

export function findSubscription(db: Db, tenant: string, topic: string): MercureSubscription | undefined {
  return db
    .select()
    .from(mercureSubscriptions)
    .where(and(eq(mercureSubscriptions.tenant, tenant), eq(mercureSubscriptions.topicHash, topicHash(topic))))
    .get();
}

/** The id of the tenant's latest Mercure event, update or subscription event; null when it has none. */
export function latestUpdateId(db: Db, tenant: string): string | null {
  const update = db
    .select({ id: mercureTopics.lastEventId, updateId: mercureTopics.lastUpdateId })
    .from(mercureTopics)
    .where(eq(mercureTopics.tenant, tenant))
    .orderBy(desc(mercureTopics.lastPublishedAt), desc(mercureTopics.lastEventId))
    .limit(1)
    .get();
  const subscription = db
    .select({ id: mercureSubscriptions.lastEventId, updateId: mercureSubscriptions.lastUpdateId })
    .from(mercureSubscriptions)
    .where(eq(mercureSubscriptions.tenant, tenant))
    .orderBy(desc(mercureSubscriptions.lastEventId))
    .limit(1)
    .get();
  const latest = [update, subscription].filter((r) => r !== undefined).sort((a, b) => b.id - a.id)[0];
  return latest?.updateId ?? null;
}

/** Active subscriptions held by nodes other than these, past `before` (ms): what a node that went away left. */
export function orphanedSubscriptions(db: Db, liveNodes: readonly string[], before: number, limit = SUBSCRIPTIONS_LIMIT): MercureSubscription[] {
  return db
    .select()
    .from(mercureSubscriptions)
    .where(and(eq(mercureSubscriptions.active, true), notInArray(mercureSubscriptions.node, [...liveNodes]), lt(mercureSubscriptions.updatedAt, before)))
    .limit(limit)
    .all();
}
