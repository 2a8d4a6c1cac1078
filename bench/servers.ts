/**
 * Starts the servers under test as child processes and stops them.
 * Ours runs compiled, as `npm start` runs it (`node dist/main.js`); the
 * floor as `node --import tsx bench/floor.ts`; nginx with nchan (the
 * `--peers` mode, bench/nchan.ts) as one nginx process. Either way the pid
 * we sample is the server itself (no npm or tsx CLI process in between).
 * Memory per connection is a difference on one server, so the floor's
 * loader does not count in it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { HttpTarget } from "./protocol.js";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const HOST = "127.0.0.1";
/** Ours runs as in production: compiled (`npm start` runs dist/main.js), built first when stale. */
export const OURS_MAIN = path.join(REPO_ROOT, "dist", "main.js");

/** Builds dist/ when it is missing or older than src/ (scripts/build.mjs --if-stale). */
export function buildOurs(): void {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "scripts", "build.mjs"), "--if-stale"], { cwd: REPO_ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`the build failed (exit ${r.status})`);
}

/** `nchan` only in the `--peers` mode: it takes single-event publishes only (no NDJSON batches). */
export type TargetName = "floor" | "ours" | "nchan";

export interface Target {
  name: TargetName;
  pid: number;
  port: number;
  stream: HttpTarget;
  publish: HttpTarget;
  /** Whether the server can replay history from Last-Event-ID (the floor keeps none). */
  replays: boolean;
  /** Ours only: its admin key and database file (for the CLI, and for logging in to the console). */
  adminKey?: string;
  dbPath?: string;
  /** Null while running; otherwise how it ended. */
  exited(): string | null;
  /** Last lines the server printed, for error reports. */
  output(): string;
  stop(): Promise<void>;
}

/** Every child started, so an exit handler can kill what a failed run left behind. */
const live = new Set<ChildProcess>();

/** Servers that are not our children (PostgreSQL's server detaches), each with a way to stop it at once. */
const external = new Map<number, () => void>();

/** Pids of the servers running now. */
export function livePids(): number[] {
  return [...[...live].map((c) => c.pid ?? -1), ...external.keys()].filter((p) => p > 0);
}

/**
 * Has `killNow` (synchronous: it may run in an exit handler) called by
 * killAllNow, and the pid guarded by the load clients like our own
 * servers'. Returns the function that forgets it, for once it is stopped.
 */
export function trackExternal(pid: number, killNow: () => void): () => void {
  external.set(pid, killNow);
  onChange?.(livePids());
  return () => {
    external.delete(pid);
    onChange?.(livePids());
  };
}

/** Called with the live pids whenever a server starts or stops. */
let onChange: ((pids: number[]) => void) | null = null;
export function onServersChange(listener: (pids: number[]) => void): void {
  onChange = listener;
}

export function killAllNow(): void {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const killNow of external.values()) killNow();
  external.clear();
}

/** A port the kernel just handed out on loopback; the tiny race until the server binds it is acceptable here. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, HOST, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startFloor(): Promise<Target> {
  const port = await freePort();
  const file = fileURLToPath(new URL("./floor.ts", import.meta.url));
  const t = await launch("floor", ...nodeCommand(file), port, {}, undefined);
  return {
    ...t,
    stream: { host: HOST, port, path: "/stream", headers: {} },
    publish: { host: HOST, port, path: "/publish", headers: {} },
    replays: false,
  };
}

/** Where a node of a cluster keeps its log, and the admin key every node of it shares. */
export interface ClusterNodeOf {
  databaseUrl: string;
  adminKey: string;
}

/**
 * Starts Switchboard on a fresh database, or as a node of a cluster on a
 * shared PostgreSQL database. `extraEnv` is added last (e.g. a setting an
 * isolation run needs: a rate limit raised for the prefill).
 */
export async function startOurs(extraEnv: Record<string, string> = {}, cluster?: ClusterNodeOf): Promise<Target> {
  buildOurs();
  if (!existsSync(OURS_MAIN)) throw new Error(`${path.relative(REPO_ROOT, OURS_MAIN)} does not exist after the build`);
  const port = await freePort();
  const dir = cluster ? null : mkdtempSync(path.join(os.tmpdir(), "switchboard-bench-"));
  const key = cluster?.adminKey ?? "bench-" + randomBytes(24).toString("hex");
  const env = {
    PORT: String(port),
    HOST,
    DATABASE_URL: cluster?.databaseUrl ?? path.join(dir!, "bench.db"),
    SWITCHBOARD_ADMIN_KEY: key,
    LOG_LEVEL: "warn",
    // Pruning runs on a timer and would land inside some measured window at random; the bench measures the hot paths.
    RETENTION_MAX_EVENTS: "0",
    RETENTION_MAX_AGE: "0",
    // The bench publishes millions of events with one key to measure the server's ceiling: a per-key limit would measure itself.
    PUBLISH_RATE_PER_KEY: "0",
    // As `npm start` runs it (README, "Memory after a burst").
    MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? "131072",
    ...extraEnv,
  };
  const t = await launch("ours", ...nodeCommand(OURS_MAIN, OURS_NODE_FLAGS), port, env, dir === null ? undefined : () => rmSync(dir, { recursive: true, force: true }));
  const auth = { Authorization: `Bearer ${key}` };
  return {
    ...t,
    stream: { host: HOST, port, path: "/api/v1/tenants/demo/stream", headers: auth },
    publish: { host: HOST, port, path: "/api/v1/tenants/demo/events", headers: auth },
    replays: true,
    adminKey: key,
    dbPath: env.DATABASE_URL,
  };
}

type Launched = Pick<Target, "name" | "pid" | "port" | "exited" | "output" | "stop">;

/** The flags `npm start` gives Node (package.json), so the bench measures the server as it is run. */
const OURS_NODE_FLAGS = ["--max-semi-space-size=4"];

/** Node running `file` with `flags`: compiled JavaScript as is, TypeScript through the tsx loader. */
function nodeCommand(file: string, flags: readonly string[] = []): [string, string[]] {
  // BENCH_SERVER_NODE_ARGS adds flags Node refuses in NODE_OPTIONS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a run;
  // given after ours, one of the same name overrides it.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  return [process.execPath, [...flags, ...nodeArgs, ...(file.endsWith(".js") ? [file] : ["--import", "tsx", file])]];
}

/** Starts `command` as a server listening on `port` and waits until its GET /healthz answers 200. */
export async function launch(
  name: TargetName,
  command: string,
  args: string[],
  port: number,
  env: Record<string, string>,
  cleanup: (() => void) | undefined,
): Promise<Launched> {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port), HOST, ...env },
    // stdin is a pipe we never close: the floor exits when it closes, i.e. when this process dies.
    stdio: ["pipe", "pipe", "pipe"],
  });
  live.add(child);
  onChange?.(livePids());
  const lines: string[] = [];
  // BENCH_SERVER_LOG keeps everything the servers print (e.g. with BENCH_SERVER_NODE_ARGS=--trace-gc).
  const logFile = process.env.BENCH_SERVER_LOG;
  const keep = (chunk: Buffer) => {
    if (logFile) appendFileSync(logFile, chunk);
    for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(l);
    if (lines.length > 60) lines.splice(0, lines.length - 60);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited: string | null = null;
  const exit = new Promise<void>((resolve) =>
    child.on("exit", (code, signal) => {
      exited = `exited with code ${code}, signal ${signal}`;
      live.delete(child);
      onChange?.(livePids());
      resolve();
    }),
  );
  const t: Launched = {
    name,
    pid: child.pid ?? -1,
    port,
    exited: () => exited,
    output: () => lines.join("\n"),
    stop: async () => {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exit;
        clearTimeout(timer);
      }
      cleanup?.();
    },
  };
  try {
    await waitHealthy(port, () => exited, 60_000);
  } catch (err) {
    await t.stop();
    throw new Error(`${name} did not become ready: ${(err as Error).message}\n--- its output ---\n${t.output()}`);
  }
  return t;
}

async function waitHealthy(port: number, exited: () => string | null, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const why = exited();
    if (why) throw new Error(why);
    if ((await healthStatus(port)) === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`GET /healthz did not answer 200 within ${timeoutMs} ms`);
}

function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: "/healthz", agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}
