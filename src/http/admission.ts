import { createMiddleware } from "hono/factory";
import { ReplayScheduler } from "../hub/replay-scheduler.js";
import type { TurnBudget } from "../turn-budget.js";
import type { AppEnv } from "./env.js";

/**
 * Bounds what arriving requests do on the event loop per turn. Node parses
 * every request that arrived together in one go, and each then runs its
 * synchronous part (authentication, the stream's registration and first
 * reads) before the loop can do anything else: a thousand streams opened at
 * once, a reconnect storm after a restart, were most of a second of blocked
 * loop. Requests take the loop freely while the turn's budget lasts (shared
 * with the other work done in slices, see TurnBudget); past that, they
 * queue, and are let in a budget's worth per turn, tenants taking turns (a
 * flood from one tenant does not hold another's requests behind it) and
 * each tenant's in arrival order, with I/O and timers running between.
 *
 * Registered after the ops routes: /healthz and /metrics are answered at
 * once, always.
 */
export function admission(turn: TurnBudget) {
  const queue = new ReplayScheduler(turn);
  return createMiddleware<AppEnv>(function admit(c, next) {
    // Behind requests already waiting, too: each tenant's requests keep their order, and tenants take turns.
    // Not an async function: a request let in at once goes on without a promise of its own.
    if (!turn.hasTime() || queue.waiting > 0) return queue.turn(tenantOf(c.req.path)).then(next);
    return next();
  });
}

const TENANT_PATH = /^\/(?:api\/v1\/tenants|t)\/([^/]+)/;

/** Whose request it is, from its path (the tenant's routes); "" for the rest (login, admin, assets). */
function tenantOf(path: string): string {
  return TENANT_PATH.exec(path)?.[1] ?? "";
}
