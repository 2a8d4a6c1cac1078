import { Worker } from "node:worker_threads";

const ENTRY = new URL("./thread-entry.mjs", import.meta.url);

/** Starts a worker thread running `module` (a sibling of this file, e.g. "./writer-thread.ts") with `data` as its workerData. */
export function startThread(module: string, data: object): Worker {
  const entry = new URL(module.replace(/\.ts$/, extension()), import.meta.url).href;
  return new Worker(ENTRY, { workerData: { ...data, entry } });
}

/** The extension this module was loaded with: `.ts` from source, `.js` once compiled. */
function extension(): string {
  return import.meta.url.endsWith(".ts") ? ".ts" : ".js";
}
