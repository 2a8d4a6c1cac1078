import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import type { StoredEvent } from "../../event.js";
import { MERCURE_UPDATE, type MercureUpdate } from "../../mercure/update.js";
import type { Db } from "../../store/db.js";
import type { Data, Projection } from "../domain.js";
import { mercureTopics } from "./schema.js";

/** A topic's key in `mercure_topics`. */
const topicHash = (topic: string): string => createHash("sha256").update(topic).digest("hex");

/**
 * Counts an update on its canonical topic (the first) and records it as the
 * topic's last, in one statement: the row is made by the topic's first update.
 * Alternate topics are not counted: they are other names of the same
 * resource, and the canonical topic is what a publisher publishes on.
 */
export async function projectUpdate(db: Db, e: StoredEvent, data: Data): Promise<void> {
  if (e.type !== MERCURE_UPDATE) return;
  const update = data as unknown as MercureUpdate;
  const topic = update.topics[0];
  const last = {
    lastEventId: e.id,
    lastUpdateId: e.subject!,
    lastType: update.type ?? null,
    lastPrivate: update.private === true,
    lastPublishedAt: e.ts,
  };
  await db
    .insert(mercureTopics)
    .values({ tenant: e.tenant, topicHash: topicHash(topic), topic, updates: 1, ...last })
    .onConflictDoUpdate({ target: [mercureTopics.tenant, mercureTopics.topicHash], set: { updates: sql`${mercureTopics.updates} + 1`, ...last } });
}

/** The Mercure topics' summary, kept by the log's writer. */
export const mercureProjection: Projection = { topics: ["mercure"], project: projectUpdate };
