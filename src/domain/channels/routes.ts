import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import { appendOne } from "../../http/append.js";
import { commandBodyLimit, readBody } from "../../http/command-body.js";
import { requireKey } from "../../http/auth.js";
import type { AppEnv } from "../../http/env.js";
import { ApiError } from "../../http/errors.js";
import type { DomainDeps } from "../domain.js";
import { rowJson } from "../json.js";
import { channelName, platform, settings } from "./events.js";
import { findChannel, listChannels } from "./queries.js";
import { CHANNEL_STATES, type ChannelState } from "./schema.js";

/** The kind of worker that owns connectors: connect commands go to any of them unless one is named. */
export const CONNECTOR_KIND = "channels";

/** Like an event's subject: a channel id is the subject of its events. */
const channelId = z.string().regex(/^[^\u0000-\u001f\u007f]{1,200}$/, "must be 1 to 200 characters without control characters");
const worker = z.string().min(1).max(200);

const connectBody = z.strictObject({
  /** Reconnecting a failed or disconnected channel names it; a new one gets an id. */
  id: channelId.optional(),
  platform,
  name: channelName,
  settings: settings.optional(),
  /** A particular worker instead of any connector. */
  worker: worker.optional(),
});

const disconnectBody = z.strictObject({
  reason: z.string().min(1).max(1000).optional(),
  /** A particular worker; by default the one holding the connection. */
  worker: worker.optional(),
});

/** The omnichannel hub: channel cards with their connection state, and the connect/disconnect commands. */
export function channelsRoutes(deps: DomainDeps) {
  const app = new Hono<AppEnv>();
  const read = requireKey(deps, "read");
  const control = requireKey(deps, "control");
  const limit = commandBodyLimit(deps.maxEventBytes);
  const append = (tenant: string, type: string, subject: string, data: Record<string, unknown>) =>
    appendOne(deps.log, tenant, { type, subject, data }, { maxEventBytes: deps.maxEventBytes, checkData: deps.domains.normalize });

  /** The hub's status: every channel (optionally of one platform or state) and the head they reflect. */
  app.get("/api/v1/tenants/:tenant/channels", read, (c) => {
    const platformFilter = c.req.query("platform");
    const state = c.req.query("state");
    if (platformFilter !== undefined && !platform.safeParse(platformFilter).success) {
      throw new ApiError(400, "invalid_filter", "platform must be a lower-case name like whatsapp");
    }
    if (state !== undefined && !(CHANNEL_STATES as readonly string[]).includes(state)) {
      throw new ApiError(400, "invalid_filter", `state must be one of ${CHANNEL_STATES.join(", ")}`);
    }
    // Head and rows in one synchronous step: the state is exactly the log through `head`.
    const head = deps.log.head();
    const channels = listChannels(deps.db, c.req.param("tenant"), { platform: platformFilter, state: state as ChannelState | undefined });
    return c.json({ head, channels: channels.map(rowJson) });
  });

  app.get("/api/v1/tenants/:tenant/channels/:channel", read, (c) => {
    const head = deps.log.head();
    const channel = findChannel(deps.db, c.req.param("tenant"), c.req.param("channel"));
    if (!channel) throw new ApiError(404, "not_found", `no channel "${c.req.param("channel")}"`);
    return c.json({ head, channel: rowJson(channel) });
  });

  /**
   * Connect: appends the command and answers at once; the connection goes
   * on in the background (progress, then connected or failed, on the streams).
   */
  app.post("/api/v1/tenants/:tenant/channels", control, limit, async (c) => {
    const body = await readBody(c, connectBody);
    const id = body.id ?? `ch_${randomBytes(9).toString("base64url")}`;
    const target = body.worker ? { worker: body.worker } : { kind: CONNECTOR_KIND };
    const data = { platform: body.platform, name: body.name, settings: body.settings ?? {}, ...target };
    const eventId = await append(c.req.param("tenant"), "channel.connect_requested", id, data);
    return c.json({ id: eventId, channel: id }, 201);
  });

  /** Disconnect: a command to the worker holding the connection, which answers channel.disconnected. */
  app.post("/api/v1/tenants/:tenant/channels/:channel/disconnect", control, limit, async (c) => {
    const tenant = c.req.param("tenant");
    const id = c.req.param("channel");
    const body = await readBody(c, disconnectBody);
    const channel = findChannel(deps.db, tenant, id);
    if (!channel) throw new ApiError(404, "not_found", `no channel "${id}"`);
    const who = body.worker ?? channel.worker;
    const target = who ? { worker: who } : { kind: CONNECTOR_KIND };
    const eventId = await append(tenant, "channel.disconnect_requested", id, { ...(body.reason ? { reason: body.reason } : {}), ...target });
    return c.json({ id: eventId, channel: id }, 201);
  });

  return app;
}
