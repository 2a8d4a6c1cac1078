import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono, type Context } from "hono";
import type { StoredEvent } from "../event.js";
import type { Hub, Selector } from "../hub/hub.js";
import { jsonFrame } from "../hub/json-frame.js";
import { encodeRetry } from "../hub/sse-frame.js";
import { typeMatcher } from "../hub/type-filter.js";
import type { Logger } from "../logger.js";
import type { EventLog } from "../store/event-log.js";
import type { ApiKey } from "../store/keys.js";
import type { AccessWatch, Grant } from "./access-watch.js";
import { requireKey, type AuthDeps } from "./auth.js";
import type { AppEnv } from "./env.js";
import { ApiError } from "./errors.js";
import { readFilter } from "./events-routes.js";
import { parsePosition } from "./position.js";
import { resetFrame, ServedStream, type StartPoint } from "./served-stream.js";
import { dropRequest, openSseResponse } from "./sse-response.js";

export interface StreamDeps extends AuthDeps {
  log: EventLog;
  hub: Hub;
  logger: Logger;
  retryMs: number;
  /** Ends streams whose key, tenant or console session lapses. */
  access: AccessWatch;
}

/**
 * Resolves a client's position against the log. Live-only clients start at
 * the head. A position beyond the head (a client of another database, or a
 * restored backup) restarts live from the head; a position retention has
 * already pruned past replays everything still retained. Either way the
 * client is told with an in-band `reset` whose `id:` is the new position.
 * Only a reset waits (for the oldest retained id, which on PostgreSQL is
 * asked of the database): an ordinary start is decided synchronously.
 */
export function startPoint(log: EventLog, tenant: string | null, position: number | null): StartPoint | Promise<StartPoint> {
  const head = log.head();
  if (position === null) return { cursor: head, reset: null };
  const withOldest = (cursor: number, reason: "stale" | "ahead") => log.oldest(tenant).then((oldest): StartPoint => ({ cursor, reset: { reason, oldest, head } }));
  if (position > head) return withOldest(head, "ahead");
  const pruned = log.prunedThrough(tenant);
  // One tenant's retained events all lie above its pruned point, so its stream may resume there. An
  // all-tenant stream may not: `pruned` is the highest of every tenant's, and other tenants can still
  // hold retained events below it; it replays everything retained after the client's own position.
  if (position < pruned) return withOldest(tenant === null ? position : pruned, "stale");
  return { cursor: position, reset: null };
}

/**
 * Opens an SSE stream for `selector`: registers it, replays from its
 * position, then goes live. Shared by every stream route (JSON streams here,
 * worker commands and console pages elsewhere).
 */
export interface OpenStreamOptions {
  /** Called when the client goes away (presence). */
  onClose?: () => void;
  /** Frames to send first, after `retry:` (a full render that replaces a long replay). */
  prologue?: string[];
  /**
   * The selector's frames are jsonFrame's and it matches exactly what its `narrow` reads: its pages
   * may come from the log already encoded, by the log's reader threads (where it has them).
   */
  jsonFrames?: boolean;
  /** Response headers besides SSE's own (a protocol's, CORS). */
  headers?: Record<string, string>;
  /** What the stream's access rests on, watched so the stream ends when it lapses. Default: the route's key (and console session). */
  grant?: Grant;
  /** When the stream's credentials expire (ms since the epoch): it is closed then, the client reconnecting with new ones. */
  until?: number | null;
  /**
   * Whether the client is told with a `reset` frame that its position was unusable or that retention
   * overtook its replay (default). A protocol without such an event (Mercure) says so its own way, and its
   * replay simply goes on with what is retained.
   */
  resetFrames?: boolean;
}

export function openStream(c: Context, deps: StreamDeps, selector: Selector, position: number | null, options: OpenStreamOptions = {}): Response | Promise<Response> {
  const start = startPoint(deps.log, selector.tenant, position);
  // Nothing waits between the checks and the subscription, unless a reset needs the oldest retained id.
  return start instanceof Promise ? start.then((s) => subscribe(c, deps, selector, s, options)) : subscribe(c, deps, selector, start, options);
}

function subscribe(c: Context, deps: StreamDeps, selector: Selector, start: StartPoint, options: OpenStreamOptions): Response {
  if (deps.hub.closed) {
    // Stopping: a stream opened now (say, a reconnect on a kept-alive socket) would be cut at once. Drop
    // the connection instead; to an SSE client that is a network error, so it retries, reaching the
    // next server. An HTTP error status would make a standard EventSource give up for good.
    dropRequest(c);
    return RESPONSE_ALREADY_SENT;
  }
  if (!deps.hub.hasCapacity(selector.tenant)) {
    throw new ApiError(429, "too_many_streams", "this tenant has too many open streams; close some or raise SSE_MAX_STREAMS_PER_TENANT", undefined, { "Retry-After": "10" });
  }
  const resets = options.resetFrames !== false;
  const framed = options.jsonFrames === true;
  const stream = new ServedStream(deps, options.grant ?? routeGrant(c, selector), framed, resets, options.onClose, options.until ?? null);
  // The one closure a stream keeps: the response's close handler.
  const sink = openSseResponse(c, () => stream.closed(), options.headers);
  const sub = deps.hub.subscribe(selector, sink, start.cursor);
  stream.sub = sub;
  sub.replayer = stream;
  stream.start();
  sub.writeNow(encodeRetry(deps.retryMs));
  if (start.reset && resets) sub.writeNow(resetFrame(start.reset, start.cursor));
  for (const frame of options.prologue ?? []) sub.writeNow(frame);
  stream.catchUp();
  return RESPONSE_ALREADY_SENT;
}

/** What a stream behind requireKey or a console session rests on: the key they set (and the session). */
function routeGrant(c: Context, selector: Selector): Grant {
  const key = c.get("key") as ApiKey;
  const session = (c.get("session") as string | undefined) ?? null;
  return { keyId: key.id, tenants: [...new Set([selector.tenant, key.tenant].filter((t): t is string => t !== null))], session };
}

/** JSON event streams: one tenant's, and the admin stream of every tenant. */
export function streamRoutes(deps: StreamDeps) {
  const app = new Hono<AppEnv>();
  const jsonStream = (c: Context<AppEnv>, tenant: string | null) => {
    const { types, subject } = readFilter(c.req.query("types"), c.req.query("subject"));
    const position =
      parsePosition(c.req.header("last-event-id"), "Last-Event-ID") ??
      parsePosition(c.req.query("after"), "after") ??
      parsePosition(c.req.query("lastEventID"), "lastEventID");
    const matchType = typeMatcher(types);
    const selector: Selector = {
      tenant,
      key: `json|${types.join(",")}|${subject ?? ""}`,
      match: (e: StoredEvent) => (matchType === null || matchType(e.type)) && (subject === null || e.subject === subject),
      encode: jsonFrame,
      narrow: { types, subject },
    };
    return openStream(c, deps, selector, position, { jsonFrames: true });
  };
  app.get("/api/v1/tenants/:tenant/stream", requireKey(deps, "read"), (c) => jsonStream(c, c.req.param("tenant")));
  app.get("/api/v1/stream", requireKey(deps, "read", { adminOnly: true }), (c) => jsonStream(c, null));
  return app;
}
