import { Worker } from "node:worker_threads";

/** Whether this module runs from source (TypeScript, through tsx) rather than compiled to dist/. */
const FROM_SOURCE = import.meta.url.endsWith(".ts");

/**
 * Starts a worker thread running `module` (a sibling of this file, named by
 * its source, e.g. "./writer-thread.ts") with `data` as its workerData.
 * Compiled, the thread runs the module's .js directly; from source it goes
 * through thread-entry.mjs, which registers tsx in the thread first.
 */
export function startThread(module: string, data: object): Worker {
  if (!FROM_SOURCE) return new Worker(new URL(module.replace(/\.ts$/, ".js"), import.meta.url), { workerData: data });
  const entry = new URL(module, import.meta.url).href;
  return new Worker(new URL("./thread-entry.mjs", import.meta.url), { workerData: { ...data, entry } });
}
