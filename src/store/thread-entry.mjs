// Entry point of the log's worker threads. Node 20 does not pass a worker's
// own entry through the loader that runs TypeScript for the main thread, so
// this plain module registers it (when running from source) and then loads
// the thread's real module, named in workerData.
import { workerData } from "node:worker_threads";

if (workerData.entry.endsWith(".ts")) (await import("tsx/esm/api")).register();
await import(workerData.entry);
