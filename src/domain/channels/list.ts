import { and, count, desc, eq } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { containing, searchedPage, windowEnd } from "../../store/search.js";
import { notOlderThan, olderThan, pageOf, type Cursor, type Page } from "../../store/keyset.js";
import { toChannel, type Channel } from "./queries.js";
import { CHANNEL_STATES, channels, type ChannelState } from "./schema.js";

/** What the channels list shows: one state (null: all), a search, and where the page starts. */
export interface ChannelListFilter {
  state: ChannelState | null;
  /** Text the channel's name, id or platform contains. */
  q: string | null;
  before: Cursor | null;
}

/** How many channels a page of the list holds. */
export const CHANNEL_PAGE = 50;

/** A channel's place in the list: when it was first connected, then its id. */
export const channelCursor = (c: Pick<Channel, "createdAt" | "channelId">): Cursor => ({ at: c.createdAt, id: c.channelId });

/**
 * One page of the list, newest first (by first connection, which a channel
 * keeps: a card never jumps as it reconnects), through
 * `channels_tenant_state_created_idx` for a state, `channels_tenant_created_idx` for all.
 */
export function channelPage(db: Db, tenant: string, filter: ChannelListFilter, size = CHANNEL_PAGE): Page<Channel> {
  const range = and(eq(channels.tenant, tenant), filter.state ? eq(channels.state, filter.state) : undefined, olderThan(filter.before, channels.createdAt, channels.channelId));
  const order = [desc(channels.createdAt), desc(channels.channelId)];
  // A search reads one window of the range (from the index alone, to find its end), then its matches within it.
  const end = windowEnd(filter.q, db.select({ at: channels.createdAt, id: channels.channelId }).from(channels).where(range).orderBy(...order));
  const rows = db
    .select()
    .from(channels)
    .where(and(range, containing([channels.name, channels.channelId, channels.platform], filter.q), end && notOlderThan(end, channels.createdAt, channels.channelId)))
    .orderBy(...order)
    .limit(size + 1)
    .all()
    .map(toChannel);
  return searchedPage(pageOf(rows, size, channelCursor), end ?? null);
}

/** How many channels a tenant has in each state, from the state index. */
export function channelCounts(db: Db, tenant: string): Record<ChannelState, number> {
  const counts = Object.fromEntries(CHANNEL_STATES.map((s) => [s, 0])) as Record<ChannelState, number>;
  const rows = db.select({ state: channels.state, n: count() }).from(channels).where(eq(channels.tenant, tenant)).groupBy(channels.state).all();
  for (const r of rows) counts[r.state] = r.n;
  return counts;
}
