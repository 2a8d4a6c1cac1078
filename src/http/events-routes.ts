import { Hono } from "hono";
import { eventJson } from "../event-json.js";
import { nextTurn } from "../next-turn.js";
import { FilterError, parseTypes } from "../hub/type-filter.js";
import type { EventLog, ReadPage, ReadQuery } from "../store/event-log.js";
import { appendOrThrow } from "./append.js";
import { requireKey, type AuthDeps } from "./auth.js";
import type { AppEnv } from "./env.js";
import { ApiError } from "./errors.js";
import { readEvents, type BodyLimits } from "./event-body.js";
import { parseLimit } from "./limit.js";
import { parsePosition } from "./position.js";
import { rateLimited, type PublishLimiter } from "./rate-limit.js";

export interface EventsDeps extends AuthDeps {
  log: EventLog;
  limits: BodyLimits;
  /** Each key's publishing allowance, counted in events. */
  limiter: PublishLimiter;
  /** Whether a type is a command to workers. */
  isCommand: (type: string) => boolean;
  /** Whether a type needs the control scope to send: a command, or an operator's action (removing a channel). */
  needsControl: (type: string) => boolean;
  /** Whether a type is a worker's answer or report, which needs the work scope (and the key's worker binding) to send. */
  isWorkerEvent: (type: string) => boolean;
}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const SUBJECT = /^[^\u0000-\u001f\u007f]{1,200}$/;

/** Publishing (POST) and reading history (GET) of a tenant's events. */
export function eventsRoutes(deps: EventsDeps) {
  const app = new Hono<AppEnv>();

  app.post("/api/v1/tenants/:tenant/events", requireKey(deps, "publish"), async function publish(c) {
    // A key past its allowance is turned away before its body is read; then the batch costs one per event.
    const keyId = c.get("key").id;
    const declared = Number(c.req.header("content-length"));
    const bytes = Number.isSafeInteger(declared) ? declared : undefined;
    const allowed = await deps.limiter.check(keyId, bytes);
    if (!allowed.ok) throw rateLimited(deps.limiter, allowed.retryAfterSec);
    const events = await readEvents(c, deps.limits, async (count) => {
      const admission = await deps.limiter.take(keyId, count, bytes);
      if (!admission.ok) throw rateLimited(deps.limiter, admission.retryAfterSec);
    });
    const key = c.get("key");
    // Commands act on workers (pause a workflow, connect a channel), and operators' actions on state (remove a
    // channel): publishing them is control, as on their own routes.
    const command = events.find((e) => deps.needsControl(e.type));
    if (command && !key.scopes.has("control")) {
      const what = deps.isCommand(command.type) ? "a command" : "an operator's action";
      throw new ApiError(403, "forbidden", `${command.type} is ${what}: publishing it needs the "control" scope`);
    }
    // A worker's answers and reports speak for a worker: that is work, and a key bound to workers speaks only for them
    // (checked by the projections, against the state each event meets).
    const report = events.find((e) => deps.isWorkerEvent(e.type));
    if (report && !key.scopes.has("work")) {
      throw new ApiError(403, "forbidden", `${report.type} is published by a worker: publishing it needs the "work" scope`);
    }
    const { ids, appended } = await appendOrThrow(deps.log, c.req.param("tenant"), events, { workers: key.workers });
    // A pure repeat (every event's key already known) appended nothing.
    if (appended.length === 0) c.header("Idempotent-Replayed", "true");
    return c.json({ ids }, 201);
  });

  app.get("/api/v1/tenants/:tenant/events", requireKey(deps, "read"), async function history(c) {
    const query = readFilter(c.req.query("types"), c.req.query("subject"));
    const after = parsePosition(c.req.query("after"), "after") ?? 0;
    const limit = parseLimit(c.req.query("limit"), DEFAULT_PAGE, MAX_PAGE);
    const page = await readHistoryPage(deps.log, { tenant: c.req.param("tenant"), after, limit, ...query });
    // Events are already JSON text in the log; join them rather than parse and re-serialize.
    const body = `{"events":[${page.events.map(eventJson).join(",")}],"head":${deps.log.head()},"next":${page.through}}`;
    return c.body(body, 200, { "Content-Type": "application/json" });
  });

  return app;
}

/**
 * One history page as the API promises it: full, or complete through the
 * head (a page shorter than `limit` means the client has reached the head).
 * A log read may stop short of both, having examined as many rows as one
 * read may (a rare filter on a large tenant); then this reads on from where
 * it stopped, up to the head as of the request, yielding between reads so
 * the loop stays free for everyone else.
 */
async function readHistoryPage(log: EventLog, q: ReadQuery): Promise<ReadPage> {
  const head = log.head();
  let { events, through } = await log.read(q);
  while (events.length < q.limit && through < head) {
    await nextTurn();
    const more = await log.read({ ...q, after: through, limit: q.limit - events.length });
    events = events.concat(more.events);
    through = more.through;
  }
  return { events, through };
}

/** `types=` and `subject=` as a log filter; 400 when malformed. */
export function readFilter(types: string | undefined, subject: string | undefined): { types: string[]; subject: string | null } {
  if (subject !== undefined && !SUBJECT.test(subject)) {
    throw new ApiError(400, "invalid_filter", "subject must be 1 to 200 characters without control characters");
  }
  try {
    return { types: parseTypes(types), subject: subject ?? null };
  } catch (err) {
    if (err instanceof FilterError) throw new ApiError(400, "invalid_filter", err.message);
    throw err;
  }
}
