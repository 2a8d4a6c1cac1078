// Entry point of the log's worker threads when running from source (the
// tests, `npm run dev`). Node 20 does not pass a worker's own entry through
// the loader that runs TypeScript for the main thread, so this plain module
// registers tsx in the thread, then loads the thread's real module, named in
// workerData. Compiled code (dist/) starts its threads without it.
import { workerData } from "node:worker_threads";

(await import("tsx/esm/api")).register();
await import(workerData.entry);
