import { and, desc, eq } from "drizzle-orm";
import { cappedCount } from "../../console/overview-count.js";
import { tenantPath, type OverviewSource } from "../../console/overview.js";
import type { Db } from "../../store/db.js";
import { LIMIT, preparedFor, STATE, TENANT } from "../../store/prepared.js";
import { channels, type ChannelState } from "./schema.js";

const inState = and(eq(channels.tenant, TENANT), eq(channels.state, STATE));
const countIn = cappedCount(channels, inState);
const newestIn = preparedFor((db) =>
  db
    .select({ name: channels.name, platform: channels.platform, reason: channels.reason, updatedAt: channels.updatedAt, eventId: channels.eventId })
    .from(channels)
    .where(inState)
    .orderBy(desc(channels.updatedAt), desc(channels.eventId))
    .limit(LIMIT)
    .prepare(),
);
const count = (db: Db, tenant: string, state: ChannelState) => countIn(db, { tenant, state });

/**
 * Channels on the overview: connected and failed counts; failed channels
 * need attention (their Retry and Remove are on the channels page). A
 * tenant has a handful of channels (the channels panel shows them all), so
 * these read its rows by primary key, bounded all the same.
 */
export const channelsOverview: OverviewSource = {
  topics: ["channel"],
  tile(db, tenant) {
    const list = `${tenantPath(tenant)}/channels`;
    return {
      id: "channels",
      title: "Channels",
      href: list,
      counts: [
        { label: "connected", count: count(db, tenant, "connected"), href: `${list}?state=connected` },
        { label: "failed", count: count(db, tenant, "failed"), href: `${list}?state=failed`, tone: "bad" },
      ],
    };
  },
  attention(db, tenant, limit) {
    const failed = `${tenantPath(tenant)}/channels?state=failed`;
    const rows = newestIn(db).all({ tenant, state: "failed", limit });
    return {
      entries: rows.map((c) => ({ kind: "failed" as const, what: "channel", label: `${c.name} (${c.platform})`, detail: c.reason, href: failed, at: c.updatedAt, eventId: c.eventId })),
      groups: [{ kind: "failed", what: "channel", label: "failed channels", count: count(db, tenant, "failed"), href: failed }],
    };
  },
  // Steps of a connection under way: the channel is connecting before and after.
  quiet: (_db, e) => e.type === "channel.progress",
};
