import v8 from "node:v8";
import vm from "node:vm";

/**
 * A full garbage collection on demand, or null when the runtime refuses one.
 *
 * V8 collects when a thread allocates. A server that has just gone calm after
 * a burst allocates almost nothing, so the burst's frames (buffers, freed
 * only once their objects are collected) would stay in memory until the next
 * busy moment, for minutes or hours. Switchboard asks for a collection only
 * at that moment: when it has just let go of a lot of memory (see
 * hub/memory-release.ts). The live heap of a calm server is small, so the
 * collection is short.
 *
 * Node exposes `gc` only with --expose-gc; the flag can be set at run time,
 * and a new context then carries the function.
 */
export function fullCollector(): (() => void) | null {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : null;
  } catch {
    return null;
  }
}
