import { topicOf } from "../domain/registry.js";
import type { StoredEvent } from "../event.js";
import type { EventLog } from "../store/event-log.js";
import type { Views } from "./views.js";

/** The feed's filter, from the page URL: by platform (of activity messages) and by topic. */
export interface FeedFilter {
  platform: string | null;
  topic: string | null;
  /** One entity's events only (a detail page's history); never from the URL. */
  subject?: string | null;
  /** One client's events only (the all-tenants view's `?client=`). */
  client?: string | null;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

export function feedFilter(query: Record<string, string | undefined>): FeedFilter {
  const pick = (v: string | undefined) => (v && NAME.test(v) ? v : null);
  return { platform: pick(query.platform), topic: pick(query.topic) };
}

/** Whether an event belongs in a filtered feed (the stream is filtered on the server). */
export function feedMatches(f: FeedFilter, e: StoredEvent, data: () => Record<string, unknown>): boolean {
  if (f.topic && topicOf(e.type) !== f.topic) return false;
  if (f.subject && e.subject !== f.subject) return false;
  if (f.platform && data().platform !== f.platform) return false;
  if (f.client && data().client !== f.client) return false;
  return true;
}

/** How many items the feed shows when rendered whole. */
export const FEED_SIZE = 50;

/** One feed item; on the all-tenants view (`allTenants`) it names its tenant. */
export function renderFeedItem(views: Views, e: StoredEvent, allTenants = false): string {
  const data = JSON.parse(e.data) as Record<string, unknown>;
  return views.render("partials/feed-item", { e, data, allTenants });
}

/**
 * The newest matching events, newest first, read backwards from the head in
 * pages; bounded so a rare filter never scans the whole log.
 */
export async function recentFeed(log: EventLog, tenant: string | null, f: FeedFilter, head: number): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  const PAGE = 500;
  for (let before = head, scanned = 0; before > 0 && out.length < FEED_SIZE && scanned < 20_000; before -= PAGE, scanned += PAGE) {
    const after = Math.max(0, before - PAGE);
    const { events } = await log.read({ tenant, after, limit: PAGE, types: f.topic ? [`${f.topic}.*`] : [], subject: f.subject ?? null });
    const page = events.filter((e) => e.id <= before && feedMatches(f, e, () => JSON.parse(e.data)));
    out.unshift(...page);
    if (out.length > FEED_SIZE) out.splice(0, out.length - FEED_SIZE);
  }
  return out.reverse();
}

/** The whole feed list (its root is #feed-items), newest first. */
export async function renderFeed(log: EventLog, ctx: { views: Views; tenant: string | null }, f: FeedFilter, head: number): Promise<string> {
  const events = await recentFeed(log, ctx.tenant, f, head);
  return ctx.views.render("partials/feed-items", { items: events.map((e) => renderFeedItem(ctx.views, e, ctx.tenant === null)) });
}
