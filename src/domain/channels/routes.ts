import { Hono } from "hono";
import { commandBodyLimit, readBody } from "../../http/command-body.js";
import { requireKey } from "../../http/auth.js";
import { limitRate } from "../../http/rate-limit.js";
import type { AppEnv } from "../../http/env.js";
import { ApiError } from "../../http/errors.js";
import type { DomainDeps } from "../domain.js";
import { rowJson } from "../json.js";
import { connectBody, connectChannel, disconnectBody, disconnectChannel, removeBody, removeChannel, retryBody, retryChannel } from "./commands.js";
import { platform } from "./events.js";
import { findChannel, listChannels } from "./queries.js";
import { CHANNEL_STATES, type ChannelState } from "./schema.js";

/** The omnichannel hub: channel cards with their connection state, and the connect/disconnect commands. */
export function channelsRoutes(deps: DomainDeps) {
  const app = new Hono<AppEnv>();
  const read = requireKey(deps, "read");
  const control = requireKey(deps, "control");
  // Commands are events: each costs one of the key's publishing allowance.
  const rate = limitRate(deps.limiter);
  const limit = commandBodyLimit(deps.maxEventBytes);

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
    const { head, value: channels } = deps.log.atHead(() =>
      listChannels(deps.db, c.req.param("tenant"), { platform: platformFilter, state: state as ChannelState | undefined }),
    );
    return c.json({ head, channels: channels.map(rowJson) });
  });

  app.get("/api/v1/tenants/:tenant/channels/:channel", read, (c) => {
    const { head, value: channel } = deps.log.atHead(() => findChannel(deps.db, c.req.param("tenant"), c.req.param("channel")));
    if (!channel) throw new ApiError(404, "not_found", `no channel "${c.req.param("channel")}"`);
    return c.json({ head, channel: rowJson(channel) });
  });

  /**
   * Connect: appends the command and answers at once; the connection goes
   * on in the background (progress, then connected or failed, on the streams).
   */
  app.post("/api/v1/tenants/:tenant/channels", control, rate, limit, async (c) => {
    const body = await readBody(c, connectBody, deps.maxJsonDepth);
    return c.json(await connectChannel(deps, c.req.param("tenant"), body), 201);
  });

  /** Disconnect: a command to the worker holding the connection, which answers channel.disconnected. */
  app.post("/api/v1/tenants/:tenant/channels/:channel/disconnect", control, rate, limit, async (c) => {
    const body = await readBody(c, disconnectBody, deps.maxJsonDepth);
    return c.json(await disconnectChannel(deps, c.req.param("tenant"), c.req.param("channel"), body), 201);
  });

  /** Retry a failed (or disconnected) channel: its connect again, as it was set up; progress follows on the streams. */
  app.post("/api/v1/tenants/:tenant/channels/:channel/retry", control, rate, limit, async (c) => {
    const body = await readBody(c, retryBody, deps.maxJsonDepth);
    return c.json(await retryChannel(deps, c.req.param("tenant"), c.req.param("channel"), body), 201);
  });

  /** Remove a failed or disconnected channel from the hub (channel.removed); its events stay in the log. */
  app.delete("/api/v1/tenants/:tenant/channels/:channel", control, rate, limit, async (c) => {
    const body = await readBody(c, removeBody, deps.maxJsonDepth);
    return c.json(await removeChannel(deps, c.req.param("tenant"), c.req.param("channel"), body));
  });

  return app;
}
