/**
 * `npm run demo`: a live Switchboard in one command.
 *
 *   npm run demo [-- --speed 5] [--duration 60] [--port 3001]
 *
 * Creates a fresh database in a temporary folder (removed on exit, so every
 * demo starts clean and ./data/switchboard.db is never touched), with the
 * `demo` tenant, its Retell secret and a generated admin key; starts the
 * server and every producer in src/producers/ as child processes, each
 * feeding it through the public HTTP API only; prints the console URL with
 * a ready login; and on Ctrl-C (or after --duration) stops the producers,
 * then the server, and exits 0.
 *
 * The children die with the demo: they stay in its process group (a kill of
 * the group ends them all) and hold an IPC channel to it, whose close ends
 * each of them when the demo itself is killed (see src/supervised.ts). The
 * admin key reaches them in the environment, never on a command line, where
 * every user of the machine could read it.
 *
 * Run from source (`node --import tsx src/demo.ts`, as the tests do), the
 * children run from source too; compiled (`npm run demo`), they run dist/.
 *
 * The orchestrator may use server code (it sets up the database as the CLI
 * would); the producers may not: they are ordinary API clients.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEMO_TENANT } from "./bootstrap.js";
import { openDb } from "./store/db.js";
import { KeyStore } from "./store/keys.js";
import { TenantStore } from "./store/tenants.js";
import { SUPERVISED } from "./supervised.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
/** The children are started as this file was: TypeScript through tsx from src/, or compiled JavaScript from dist/. */
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const NODE_ARGS = FROM_SOURCE ? ["--import", "tsx"] : ["--enable-source-maps"];
const program = (name: string) => join(HERE, `${name}${FROM_SOURCE ? ".ts" : ".js"}`);
/** In start order; those whose file is missing are skipped with a note. */
const PRODUCERS = ["voice-provider", "agents", "channel-connector", "workflow-runner", "chat-agent"];
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const COLORS = [36, 33, 35, 32, 34, 31];

function usage(message?: string): never {
  if (message) process.stderr.write(`demo: ${message}\n`);
  process.stderr.write("usage: npm run demo [-- --speed <factor>] [--duration <seconds>] [--port <port>]\n");
  process.exit(2);
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: { speed: { type: "string" }, duration: { type: "string" }, port: { type: "string" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help) usage();
  const speed = Number(values.speed ?? 1);
  if (!(speed > 0 && speed <= 1000)) usage(`--speed must be a number above 0 (1 is real time), not "${values.speed}"`);
  const duration = values.duration === undefined ? null : Number(values.duration);
  if (duration !== null && !(duration > 0)) usage(`--duration must be a number of seconds above 0, not "${values.duration}"`);
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65535) usage(`--port must be a port number, not "${values.port ?? process.env.PORT}"`);
  return { speed, duration, port };
}

const say = (line: string) => process.stdout.write(`${color ? "\x1b[1m" : ""}demo${color ? "\x1b[0m" : ""}            | ${line}\n`);

/** Whether the port can be listened on (on every interface, as the server will). */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, () => probe.close(() => done(true)));
  });
}

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  stopping: boolean;
}

/**
 * Starts a supervised child (it leaves Ctrl-C to us, so we choose the order of the stop, and it stops
 * when we are gone), its lines prefixed with its name.
 */
function start(name: string, args: string[], env: NodeJS.ProcessEnv, index: number): Child {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, env: { ...env, [SUPERVISED]: "1" }, stdio: ["ignore", "pipe", "pipe", "ipc"] });
  const label = name.padEnd(15);
  const prefix = color ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m | ` : `${label} | `;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => process.stdout.write(prefix + line + "\n"));
  }
  const exited = new Promise<number | null>((done) => child.once("exit", (code, signal) => done(code ?? (signal ? 128 : null))));
  return { name, process: child, exited, stopping: false };
}

/** SIGTERM, then SIGKILL if it has not exited within `ms`. */
async function stop(child: Child, ms: number): Promise<void> {
  child.stopping = true;
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill("SIGTERM");
  const timer = setTimeout(() => {
    say(`${child.name} did not stop within ${ms / 1000} s; killing it`);
    child.process.kill("SIGKILL");
  }, ms);
  await child.exited;
  clearTimeout(timer);
}

async function waitHealthy(url: string, server: Child, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  let down = false;
  void server.exited.then(() => (down = true));
  while (Date.now() < deadline && !down) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return false;
}

/**
 * The key the producers share: the demo tenant's, with what its workers need (read their state, publish, work: hold
 * command streams and answer them) and control, with which the connector and the chat agent seed requests of their own.
 */
function producersKey(database: string): string {
  const db = openDb(database);
  try {
    return new KeyStore(db).create({ tenant: DEMO_TENANT, scopes: ["read", "publish", "control", "work"], label: "demo producers" }).secret;
  } finally {
    db.$client.close();
  }
}

async function main(): Promise<void> {
  const { speed, duration, port } = options();
  if (!(await portFree(port))) {
    process.stderr.write(
      `demo: port ${port} is already in use (another Switchboard, or an earlier demo still running?).\n` +
        `      Stop it, or pick another port: npm run demo -- --port ${port + 1}\n`,
    );
    process.exit(1);
  }

  // A fresh database for every demo, in a temporary folder removed on exit.
  const dir = mkdtempSync(join(tmpdir(), "switchboard-demo-"));
  const database = join(dir, "demo.db");
  const adminKey = `sb_${randomBytes(24).toString("base64url")}`;
  const retellSecret = `key_demo_${randomBytes(16).toString("hex")}`;
  // What `npm run switchboard -- tenants create demo` and `tenants set-retell-secret demo …` do.
  // The server's first start then adds the admin key (SWITCHBOARD_ADMIN_KEY) to this tenant-ready database.
  const db = openDb(database);
  try {
    const tenants = new TenantStore(db);
    tenants.create(DEMO_TENANT, "Demo");
    tenants.setRetellSecret(DEMO_TENANT, retellSecret);
  } finally {
    db.$client.close();
  }

  const children: Child[] = [];
  let shuttingDown: Promise<never> | null = null;
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  // Whatever happens to us, no child outlives us.
  process.on("exit", () => {
    for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill("SIGKILL");
  });

  const shutdown = (reason: string, code: number): Promise<never> =>
    (shuttingDown ??= (async () => {
      say(`${reason}: stopping the producers, then the server…`);
      const producers = children.filter((c) => c.name !== "server");
      await Promise.all(producers.map((c) => stop(c, 10_000)));
      const server = children.find((c) => c.name === "server");
      if (server) await stop(server, 15_000);
      cleanup();
      say(code === 0 ? "stopped cleanly." : "stopped.");
      process.exit(code);
    })());

  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) {
      say(`${signal} again: killing everything now`);
      cleanup();
      process.exit(1);
    }
    void shutdown(signal, 0);
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  const url = `http://localhost:${port}`;
  const serverEnv = { ...process.env, PORT: String(port), DATABASE_URL: database, SWITCHBOARD_ADMIN_KEY: adminKey };
  const server = start("server", [program("main")], serverEnv, 0);
  children.push(server);
  // The server is what everything feeds: without it there is no demo, so its exit stops the rest.
  void server.exited.then((code) => {
    if (!server.stopping) void shutdown(`the server exited unexpectedly (code ${code})`, 1);
  });
  say(`starting Switchboard on port ${port} with a fresh database (${database})`);
  if (!(await waitHealthy(url, server, 30_000))) {
    if (!shuttingDown) await shutdown(`the server did not become healthy at ${url}/healthz`, 1);
    return;
  }
  if (shuttingDown) return;

  // Producers get the same API a real deployment's producers would: --url, --tenant, the key in SWITCHBOARD_KEY, and
  // a key of their tenant rather than the admin's, as `keys create --tenant demo --scopes read,publish,control,work`
  // makes it (the server has made its admin key by now: a key made before its first start would stop it making one).
  const producerKey = producersKey(database);
  const producerEnv: NodeJS.ProcessEnv = { ...process.env, SWITCHBOARD_KEY: producerKey, SWITCHBOARD_RETELL_SECRET: retellSecret };
  const started: string[] = [];
  for (const [i, name] of PRODUCERS.entries()) {
    const file = program(`producers/${name}`);
    if (!existsSync(file)) {
      say(`${file} does not exist yet; skipping the ${name}`);
      continue;
    }
    const child = start(name, [file, "--url", url, "--tenant", DEMO_TENANT, "--speed", String(speed)], producerEnv, i + 1);
    children.push(child);
    started.push(name);
    // One producer down leaves a demo that still shows the others: it is reported, and the rest keep running.
    void child.exited.then((code) => {
      if (!child.stopping && !shuttingDown) say(`${name} exited unexpectedly (code ${code}); the server and the other producers keep running`);
    });
  }

  const bar = "─".repeat(72);
  process.stdout.write(
    [
      "",
      bar,
      `  Switchboard is live with ${started.length} producer${started.length === 1 ? "" : "s"} (${started.join(", ")}) at speed ${speed}.`,
      "",
      `  Open the console, already signed in as the demo's admin:`,
      "",
      `    ${url}/login#key=${adminKey}`,
      "",
      `  Or sign in at ${url}/login with this key (also for curl: -H 'Authorization: Bearer …'):`,
      `    ${adminKey}`,
      "",
      duration === null ? "  Ctrl-C stops everything." : `  Stopping by itself after ${duration} s (Ctrl-C stops it sooner).`,
      bar,
      "",
      "",
    ].join("\n"),
  );

  if (duration !== null) setTimeout(() => void shutdown(`${duration} s are up`, 0), duration * 1000);
}

main().catch((err: Error) => {
  process.stderr.write(`demo: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
