import { and, asc, eq } from "drizzle-orm";
import type { Db } from "../../store/db.js";
import { ID, preparedFor, TENANT } from "../../store/prepared.js";
import { channels, type ChannelState } from "./schema.js";

export type ChannelRow = typeof channels.$inferSelect;

export interface Channel extends Omit<ChannelRow, "settings"> {
  settings: Record<string, unknown>;
}

export const toChannel = (r: ChannelRow): Channel => ({ ...r, settings: JSON.parse(r.settings) });

export interface ChannelFilter {
  platform?: string;
  state?: ChannelState;
}

/** A tenant's channels in the order they were first connected (a stable order for the hub's cards). */
export function listChannels(db: Db, tenant: string, filter: ChannelFilter = {}): Channel[] {
  const where = and(
    eq(channels.tenant, tenant),
    filter.platform ? eq(channels.platform, filter.platform) : undefined,
    filter.state ? eq(channels.state, filter.state) : undefined,
  );
  return db.select().from(channels).where(where).orderBy(asc(channels.createdAt), asc(channels.channelId)).all().map(toChannel);
}

/** By primary key, prepared once per database: the feed names every item's subject with it. */
const channelById = preparedFor((db) =>
  db
    .select()
    .from(channels)
    .where(and(eq(channels.tenant, TENANT), eq(channels.channelId, ID)))
    .prepare(),
);

export function findChannel(db: Db, tenant: string, channelId: string): Channel | undefined {
  const row = channelById(db).get({ tenant, id: channelId });
  return row && toChannel(row);
}

/** Channels waiting for their connector, across tenants: on boot their deadlines are armed again. */
export function connectingChannels(db: Db): Pick<ChannelRow, "tenant" | "channelId" | "updatedAt" | "step">[] {
  return db
    .select({ tenant: channels.tenant, channelId: channels.channelId, updatedAt: channels.updatedAt, step: channels.step })
    .from(channels)
    .where(eq(channels.state, "connecting"))
    .all();
}
