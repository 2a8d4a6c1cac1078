import { and, eq } from "drizzle-orm";
import type { z } from "zod";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { AppendRejected } from "../../store/event-log.js";
import type { Data, Projection, WorkerOf } from "../domain.js";
import type { channelDisconnected, channelFailed, channelProgress, connectRequested } from "./events.js";
import { channels } from "./schema.js";

type Row = typeof channels.$inferSelect;

/**
 * Applies channel events to the `channels` table (inside the append
 * transaction). The state machine:
 *
 *   (none | failed | disconnected) --connect_requested--> connecting
 *   connecting --progress--> connecting --connected--> connected
 *   connecting --failed--> failed
 *   (connecting | connected) --disconnected--> disconnected
 *   (failed | disconnected) --removed--> (none)
 *
 * Anything else is refused with a 409 and its reason, and changes nothing.
 * activity.* events have no table: the feed is the log.
 */
export async function projectChannel(db: Db, e: StoredEvent, data: Data): Promise<void> {
  if (!e.type.startsWith("channel.")) return;
  const channelId = e.subject!;
  const key = and(eq(channels.tenant, e.tenant), eq(channels.channelId, channelId));
  const [current] = await db.select().from(channels).where(key).limit(1);
  const stamp = { updatedAt: e.ts, eventId: e.id };
  const update = (set: Partial<Row>) => db.update(channels).set({ ...set, ...stamp }).where(key);

  if (e.type === "channel.connect_requested") {
    const d = data as z.output<typeof connectRequested>;
    if (current?.state === "connecting" || current?.state === "connected") {
      throw new AppendRejected(409, `channel ${channelId} is already ${current.state}`);
    }
    if (current && current.platform !== d.platform) {
      throw new AppendRejected(409, `channel ${channelId} is a ${current.platform} channel, not ${d.platform}`);
    }
    // A fresh attempt: the previous attempt's steps and failure no longer apply.
    const attempt = { name: d.name, settings: JSON.stringify(d.settings), state: "connecting" as const, step: null, total: null, stepLabel: null, reason: null, worker: d.worker ?? null };
    if (current) await update(attempt);
    else await db.insert(channels).values({ tenant: e.tenant, channelId, platform: d.platform, ...attempt, createdAt: e.ts, ...stamp });
    return;
  }

  if (!current) throw new AppendRejected(409, `no channel ${channelId}: it must be connected first (channel.connect_requested)`);
  const reporter = (data as { worker?: string }).worker ?? current.worker;

  switch (e.type) {
    case "channel.progress": {
      const d = data as z.output<typeof channelProgress>;
      requireConnecting(current, e.type);
      await update({ step: d.step, total: d.total, stepLabel: d.label, worker: reporter });
      return;
    }
    case "channel.connected":
      requireConnecting(current, e.type);
      await update({ state: "connected", worker: reporter });
      return;
    case "channel.failed": {
      const d = data as z.output<typeof channelFailed>;
      requireConnecting(current, e.type);
      if (d.timeout_ms !== undefined && e.ts - current.updatedAt < d.timeout_ms) {
        throw new AppendRejected(409, `channel ${channelId} heard from its connector ${e.ts - current.updatedAt} ms ago, within ${d.timeout_ms} ms`);
      }
      await update({ state: "failed", reason: d.reason, worker: reporter });
      return;
    }
    case "channel.disconnect_requested":
      if (current.state !== "connecting" && current.state !== "connected") {
        throw new AppendRejected(409, `channel ${channelId} is ${current.state}: there is no connection to close`);
      }
      // The state stays until the worker confirms; the row only points at the request (event_id).
      await update({});
      return;
    case "channel.disconnected": {
      const d = data as z.output<typeof channelDisconnected>;
      if (current.state !== "connecting" && current.state !== "connected") {
        throw new AppendRejected(409, `channel ${channelId} is ${current.state}, not connected`);
      }
      await update({ state: "disconnected", reason: d.reason ?? null, worker: reporter });
      return;
    }
    case "channel.removed":
      if (current.state !== "failed" && current.state !== "disconnected") {
        throw new AppendRejected(409, `channel ${channelId} is ${current.state}: disconnect it before removing it`);
      }
      await db.delete(channels).where(key);
      return;
  }
}

function requireConnecting(current: Row, type: string): void {
  if (current.state !== "connecting") {
    throw new AppendRejected(409, `${type} for channel ${current.channelId}, which is ${current.state}, not connecting`);
  }
}

/** The worker holding a channel once its report is applied: the one it names (data.worker), else the one that held it. */
const connector: WorkerOf = async (db, e) => {
  const [row] = await db.select({ worker: channels.worker }).from(channels).where(and(eq(channels.tenant, e.tenant), eq(channels.channelId, e.subject!))).limit(1);
  return row?.worker ?? null;
};

/** The channels domain's projection, run by the log's writer. */
export const channelsProjection: Projection = {
  topics: ["channel", "activity"],
  project: projectChannel,
  workers: Object.fromEntries(["channel.progress", "channel.connected", "channel.failed", "channel.disconnected"].map((t) => [t, connector])),
};
