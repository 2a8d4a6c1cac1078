import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

/** Whether this module runs from source (TypeScript, through tsx) rather than compiled to dist/. */
const FROM_SOURCE = import.meta.url.endsWith(".ts");

/**
 * Starts a worker thread running `module` (a sibling of this file, named by
 * its source, e.g. "./writer-thread.ts") with `data` as its workerData.
 * Compiled, the thread runs the module's .js directly. From source, it runs
 * the compiled module too when dist/ holds a build of the source as it is
 * now; otherwise it goes through thread-entry.mjs, which registers tsx in
 * the thread first.
 */
export function startThread(module: string, data: object): Worker {
  if (!FROM_SOURCE) return new Worker(new URL(module.replace(/\.ts$/, ".js"), import.meta.url), { workerData: data });
  // Without the process's own flags: `--import tsx` would load tsx in the thread for nothing.
  if (distIsCurrent()) return new Worker(new URL(`../../dist/store/${module.replace(/^\.\//, "").replace(/\.ts$/, ".js")}`, import.meta.url), { workerData: data, execArgv: [] });
  const entry = new URL(module, import.meta.url).href;
  return new Worker(new URL("./thread-entry.mjs", import.meta.url), { workerData: { ...data, entry } });
}

/**
 * Whether dist/ was built after every change to what the build reads (the
 * stamp scripts/build.mjs writes, against the newest file of the same
 * inputs). Through tsx, each thread transforms its whole import graph
 * again: about 1.8 s of CPU a thread, three threads a server, where the
 * compiled modules take a fraction of that. The tests build dist/ before
 * they start (test/support/build-global.ts); `npm run dev` or a watching
 * test run after an edit finds it stale and keeps to tsx. Asked at each
 * thread's start (a walk over src/, about 2 ms, when a server starts): an
 * edit can come at any time.
 */
function distIsCurrent(): boolean {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const built = statSync(`${root}dist/.built`, { throwIfNoEntry: false })?.mtimeMs;
  return built !== undefined && ["src", "tsconfig.json", "tsconfig.build.json", "package.json"].every((input) => newest(`${root}${input}`) < built);
}

/**
 * The newest modification time under `path` (files and folders), as
 * scripts/build.mjs reads it. Written again rather than imported: that
 * script is plain JavaScript that builds when it is run, and compiled code
 * may run where scripts/ is not shipped.
 */
function newest(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(`${path}/${entry}`));
  return latest;
}
