import { createMiddleware } from "hono/factory";
import { ReplayScheduler } from "../hub/replay-scheduler.js";
import type { AppEnv } from "./env.js";

/**
 * Bounds what arriving requests do on the event loop per turn. Node parses
 * every request that arrived together in one go, and each then runs its
 * synchronous part (authentication, the stream's registration and first
 * reads) before the loop can do anything else: a thousand streams opened at
 * once, a reconnect storm after a restart, were most of a second of blocked
 * loop. Requests take the loop freely for `sliceMs` per turn; past that,
 * they queue, and are let in a few milliseconds' worth per turn, in arrival
 * order, with I/O and timers running between.
 *
 * Registered after the ops routes: /healthz and /metrics are answered at
 * once, always.
 */
export function admission(sliceMs = 4) {
  const queue = new ReplayScheduler(sliceMs);
  let turnStart = -1;
  return createMiddleware<AppEnv>(async function admit(_c, next) {
    const now = performance.now();
    if (turnStart < 0) {
      turnStart = now;
      setImmediate(() => (turnStart = -1));
    }
    // Behind requests already waiting, too: the queue keeps arrival order.
    if (now - turnStart >= sliceMs || queue.waiting > 0) await queue.turn();
    await next();
  });
}
