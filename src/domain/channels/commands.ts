import { randomBytes } from "node:crypto";
import { z } from "zod";
import { appendDomainEvent } from "../append-event.js";
import { ApiError } from "../../http/errors.js";
import type { DomainDeps } from "../domain.js";
import { channelName, platform, settings } from "./events.js";
import { findChannel } from "./queries.js";

/** The kind of worker that owns connectors: connect commands go to any of them unless one is named. */
export const CONNECTOR_KIND = "channels";

/** Like an event's subject: a channel id is the subject of its events. */
const channelId = z.string().regex(/^[^\u0000-\u001f\u007f]{1,200}$/, "must be 1 to 200 characters without control characters");
const worker = z.string().min(1).max(200);

export const connectBody = z.strictObject({
  /** Reconnecting a failed or disconnected channel names it; a new one gets an id. */
  id: channelId.optional(),
  platform,
  name: channelName,
  settings: settings.optional(),
  /** A particular worker instead of any connector. */
  worker: worker.optional(),
});

/** Retry: connect a failed (or disconnected) channel again, as it was set up. */
export const retryBody = z.strictObject({
  /** A particular worker instead of any connector. */
  worker: worker.optional(),
});

/** Remove: take a failed or disconnected channel off the hub. */
export const removeBody = z.strictObject({
  reason: z.string().min(1).max(1000).optional(),
});

export const disconnectBody = z.strictObject({
  reason: z.string().min(1).max(1000).optional(),
  /** A particular worker; by default the one holding the connection. */
  worker: worker.optional(),
});

/** What a command appended: its event id and the channel it concerns. */
export interface CommandResult {
  id: number;
  channel: string;
}

type Deps = Pick<DomainDeps, "log" | "db" | "maxEventBytes" | "domains">;

const append = (deps: Deps, tenant: string, type: string, subject: string, data: Record<string, unknown>) =>
  appendDomainEvent(deps, tenant, { type, subject, data });

/**
 * Connect: appends the command for a connector and returns at once; the
 * connection goes on in the background (progress, then connected or
 * failed, on the streams). Used by the API and the console's connect form.
 * Throws ApiError (400, 409 when the channel is already connecting…).
 */
export async function connectChannel(deps: Deps, tenant: string, body: z.output<typeof connectBody>): Promise<CommandResult> {
  const id = body.id ?? `ch_${randomBytes(9).toString("base64url")}`;
  const target = body.worker ? { worker: body.worker } : { kind: CONNECTOR_KIND };
  const data = { platform: body.platform, name: body.name, settings: body.settings ?? {}, ...target };
  return { id: await append(deps, tenant, "channel.connect_requested", id, data), channel: id };
}

/** Disconnect: a command to the worker holding the connection, which answers channel.disconnected. */
export async function disconnectChannel(deps: Deps, tenant: string, id: string, body: z.output<typeof disconnectBody>): Promise<CommandResult> {
  const channel = findChannel(deps.db, tenant, id);
  if (!channel) throw new ApiError(404, "not_found", `no channel "${id}"`);
  const who = body.worker ?? channel.worker;
  const target = who ? { worker: who } : { kind: CONNECTOR_KIND };
  const eventId = await append(deps, tenant, "channel.disconnect_requested", id, { ...(body.reason ? { reason: body.reason } : {}), ...target });
  return { id: eventId, channel: id };
}

/**
 * Retry: the channel's own connect again (platform, name and settings as
 * stored), for any connector unless one is named. 404 without the channel;
 * 409 (from the projection) unless it has failed or is disconnected.
 */
export async function retryChannel(deps: Deps, tenant: string, id: string, body: z.output<typeof retryBody>): Promise<CommandResult> {
  const channel = findChannel(deps.db, tenant, id);
  if (!channel) throw new ApiError(404, "not_found", `no channel "${id}"`);
  if (channel.state !== "failed" && channel.state !== "disconnected") {
    throw new ApiError(409, "conflict", `channel ${id} is ${channel.state}: only a failed or disconnected channel is connected again`);
  }
  return connectChannel(deps, tenant, { id, platform: channel.platform, name: channel.name, settings: channel.settings, worker: body.worker });
}

/** Remove: appends channel.removed, which takes the channel off the hub. 404 without it; 409 while it is connecting or connected. */
export async function removeChannel(deps: Deps, tenant: string, id: string, body: z.output<typeof removeBody>): Promise<CommandResult> {
  if (!findChannel(deps.db, tenant, id)) throw new ApiError(404, "not_found", `no channel "${id}"`);
  return { id: await append(deps, tenant, "channel.removed", id, body.reason ? { reason: body.reason } : {}), channel: id };
}
