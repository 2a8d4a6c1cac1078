import { and, desc, eq } from "drizzle-orm";
import { countAtMost } from "../../console/overview-count.js";
import { tenantPath, type OverviewSource } from "../../console/overview.js";
import { channels, type ChannelState } from "./schema.js";

const inState = (tenant: string, state: ChannelState) => and(eq(channels.tenant, tenant), eq(channels.state, state));

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
        { label: "connected", count: countAtMost(db, channels, inState(tenant, "connected")), href: `${list}?state=connected` },
        { label: "failed", count: countAtMost(db, channels, inState(tenant, "failed")), href: `${list}?state=failed`, tone: "bad" },
      ],
    };
  },
  attention(db, tenant, limit) {
    const failed = `${tenantPath(tenant)}/channels?state=failed`;
    const rows = db
      .select({ name: channels.name, platform: channels.platform, reason: channels.reason, updatedAt: channels.updatedAt, eventId: channels.eventId })
      .from(channels)
      .where(inState(tenant, "failed"))
      .orderBy(desc(channels.updatedAt), desc(channels.eventId))
      .limit(limit)
      .all();
    return {
      entries: rows.map((c) => ({ kind: "failed" as const, what: "channel", label: `${c.name} (${c.platform})`, detail: c.reason, href: failed, at: c.updatedAt, eventId: c.eventId })),
      groups: [{ kind: "failed", what: "channel", label: "failed channels", count: countAtMost(db, channels, inState(tenant, "failed")), href: failed }],
    };
  },
  // Steps of a connection under way: the channel is connecting before and after.
  quiet: (_db, e) => e.type === "channel.progress",
};
