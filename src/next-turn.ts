/**
 * Resolves on the next turn of the event loop, after pending I/O: what a long
 * job awaits between steps so that timers, requests and other clients run.
 * setImmediate (not a microtask) is what lets I/O in.
 */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
