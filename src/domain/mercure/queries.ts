import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { olderThan, pageOf, type Cursor, type Page } from "../../store/keyset.js";
import { mercureTopics } from "./schema.js";

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

