import { performance } from "node:perf_hooks";
import { nextTurn } from "../next-turn.js";

/** Work done in one turn of the event loop before it is handed back: short enough that other clients do not notice. */
export const SLICE_MS = 4;

/**
 * A checkpoint for long loops: `await pause()` between items costs almost
 * nothing (it returns undefined, so a hot loop can skip the await), but once `budgetMs` of work has passed since the last yield it
 * waits for setImmediate, so timers, I/O and other requests run before the
 * loop goes on. setImmediate (not a microtask) is what lets I/O in.
 */
export function timeSlicer(budgetMs = SLICE_MS): () => Promise<void> | undefined {
  let sliceStart = performance.now();
  return function pause() {
    // The clock costs tens of nanoseconds: cheap beside any item worth slicing, and one item may be large.
    if (performance.now() - sliceStart < budgetMs) return undefined;
    return nextTurn().then(() => {
      sliceStart = performance.now();
    });
  };
}
