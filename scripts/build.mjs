// `npm run build`: compiles src/ to dist/ with tsc (tsconfig.build.json), so
// that a server, the CLI, the demo and the producers run plain JavaScript
// with no compiler loaded at runtime.
//
// With --if-stale (run before `npm start`, `npm run switchboard`, `npm run
// demo` and the producers) it compiles only when dist/ is missing or older
// than a source: a fresh clone or a `git pull` builds by itself, and an
// up-to-date dist/ costs a walk over src/, not a compiler start.
//
// Plain JavaScript on purpose: it has to run before anything is compiled.
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
/** Written after a successful build: its time is the build's. */
const STAMP = join(DIST, ".built");
/** What the build reads; a folder's time changes when a file in it is added, removed or renamed. */
const INPUTS = ["src", "tsconfig.json", "tsconfig.build.json", "package.json"];

/** The newest modification time under `path` (files and folders); 0 when absent, as in a deployment that ships dist/ without src/. */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

function builtAt() {
  try {
    return statSync(STAMP).mtimeMs;
  } catch {
    return null;
  }
}

function stale() {
  const built = builtAt();
  return built === null || INPUTS.some((input) => newest(join(ROOT, input)) > built);
}

function build() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  } catch {
    process.stderr.write(
      "switchboard: TypeScript is not installed, so src/ cannot be compiled to dist/.\n" +
        "             Install the dev dependencies (npm ci) and run npm run build, or ship a built dist/.\n",
    );
    process.exit(1);
  }
  // Stale until tsc has succeeded. tsc rewrites every output (no incremental mode: it would trust its
  // build info even when outputs are gone), so dist/ is not emptied first, under a server running from it.
  rmSync(STAMP, { force: true });
  const started = Date.now();
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) {
    process.stderr.write(`\nswitchboard: the build failed (tsc exited with ${result.status ?? result.signal}); dist/ is incomplete\n`);
    process.exit(1);
  }
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  process.stderr.write(`switchboard: compiled src/ to dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

if (!process.argv.includes("--if-stale")) build();
else if (stale()) {
  process.stderr.write(`switchboard: dist/ is ${builtAt() === null ? "missing" : "older than src/"}; compiling it (npm run build)…\n`);
  build();
}
