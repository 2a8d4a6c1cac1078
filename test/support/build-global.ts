import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Compiles src/ to dist/ when it is stale (`npm run build`'s --if-stale),
 * once before any test file: the servers' threads, started from source,
 * then run the compiled modules (src/store/threads.ts), and child servers
 * run dist/main.js as `npm start` does (test/support/child-server.ts).
 */
export default function setup(): void {
  const result = spawnSync(process.execPath, ["scripts/build.mjs", "--if-stale"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status ?? result.signal}): the tests run the compiled threads`);
}
