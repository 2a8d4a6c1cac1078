import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * A production install runs compiled JavaScript, with no TypeScript loader
 * at all. The test makes a fresh clone's layout in a temporary folder (what
 * the build reads and what the server reads at runtime, nothing else) whose
 * node_modules holds every installed package except tsx: anything that
 * tried to load TypeScript at runtime — the server, its writer and reader
 * threads, the CLI, the demo's children — would fail there. It then runs
 * the npm scripts the README documents, as a user would.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** What the build reads (src/, scripts/, tsconfigs, package.json) and what compiled code reads at runtime (drizzle/, views/, public/). */
const CLONED = ["src", "scripts", "drizzle", "views", "public", "package.json", "tsconfig.json", "tsconfig.build.json"];
const ADMIN_KEY = "build-test-admin-key-0123456789";

let clone: string;
let database: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * Runs `npm <args>` in the clone, in a process group of its own; `stop()` SIGTERMs the group (npm and what it
 * started, as a terminal's Ctrl-C or a service manager would) and resolves once all of it has exited.
 */
function npm(args: string[], env: Record<string, string> = {}) {
  const child = spawn("npm", args, {
    cwd: clone,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATABASE_URL: database, npm_config_update_notifier: "false", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
  const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  return {
    /** The process group npm and everything it started belong to. */
    group: child.pid!,
    output: () => output,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGTERM");
      return exited;
    },
  };
}

/** The command line and environment of the process in `group` running `script` (npm runs it through a shell). */
function processOf(group: number, script: string): { argv: string[]; environ: Map<string, string> } {
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      // The process group is the fifth field of stat; the second, the command in parentheses, may hold spaces.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const pgrp = Number(stat.slice(stat.lastIndexOf(") ") + 2).split(" ")[2]);
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (pgrp !== group || !argv[0].endsWith("node") || !argv.some((a) => a.endsWith(script))) continue;
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
      return { argv, environ: new Map(environ.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])) };
    } catch {
      // A process that exited meanwhile.
    }
  }
  throw new Error(`no process of group ${group} runs ${script}`);
}

/** `npm start` on a free port; resolves once /healthz answers 200 (or fails with what it printed). */
async function start() {
  const port = await freePort();
  const server = npm(["start"], { PORT: String(port), HOST: "127.0.0.1", SWITCHBOARD_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: "info" });
  const url = `http://127.0.0.1:${port}`;
  const healthy = async () => (await fetch(`${url}/healthz`).catch(() => null))?.status === 200;
  // The first start compiles the whole project: generous on a loaded machine, and it stops polling if npm exits.
  await expect.poll(async () => (await healthy()) || !server.running(), { timeout: 240_000, interval: 250 }).toBe(true);
  expect(server.running(), `npm start exited:\n${server.output()}`).toBe(true);
  return { ...server, url };
}

beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), "switchboard-clone-"));
  for (const entry of CLONED) cpSync(join(ROOT, entry), join(clone, entry), { recursive: true });
  mkdirSync(join(clone, "node_modules"));
  for (const name of readdirSync(join(ROOT, "node_modules"))) {
    if (name !== "tsx" && name !== ".bin") symlinkSync(join(ROOT, "node_modules", name), join(clone, "node_modules", name));
  }
  database = join(clone, "data", "switchboard.db");
});

afterAll(() => {
  if (clone) rmSync(clone, { recursive: true, force: true });
});

describe("a fresh clone, without tsx", () => {
  it("npm start compiles dist/ when it is missing, then serves from it: migrations, threads, views and assets", async () => {
    const server = await start();
    try {
      expect(server.output()).toMatch(/dist\/ is missing; compiling it/);
      expect(server.output()).toMatch(/compiled src\/ to dist\//);
      // glibc's threshold for mapping large blocks on their own stays fixed, so a burst's memory goes back (README).
      const { argv, environ } = processOf(server.group, "dist/main.js");
      expect(environ.get("MALLOC_MMAP_THRESHOLD_")).toBe("131072");
      // A small young generation: short scavenges under a flood (README, "Young generation").
      expect(argv).toContain("--max-semi-space-size=4");

      // The writer thread appends, a reader thread answers the history page.
      const headers = { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" };
      const posted = await fetch(`${server.url}/api/v1/tenants/demo/events`, { method: "POST", headers, body: JSON.stringify({ type: "build.checked" }) });
      expect(posted.status, await posted.clone().text()).toBe(201);
      const page = await (await fetch(`${server.url}/api/v1/tenants/demo/events?after=0`, { headers })).json();
      expect(page.events.map((e: { type: string }) => e.type)).toEqual(["build.checked"]);

      // views/ and public/ found from dist/.
      const login = await fetch(`${server.url}/login`);
      expect(login.status).toBe(200);
      expect(await login.text()).toContain("<form");
      const css = await fetch(`${server.url}/assets/console.css`);
      expect(css.status).toBe(200);
    } finally {
      await server.stop();
    }
    expect(server.output()).toMatch(/"msg":"switchboard stopped"/);
  }, 300_000);

  describe("then with the dev dependencies pruned (no TypeScript)", () => {
    beforeAll(() => rmSync(join(clone, "node_modules", "typescript")));

    it("npm run switchboard runs the compiled CLI, without compiling again", async () => {
      const cli = npm(["run", "switchboard", "--", "tenants", "list"]);
      expect(await cli.exited, cli.output()).toBe(0);
      expect(cli.output()).toMatch(/^demo\s+Demo\b/m);
      expect(cli.output()).not.toMatch(/compiling/);
    }, 60_000);

    it("npm run demo starts the compiled server and producers, and stops them cleanly", async () => {
      const port = await freePort();
      const demo = npm(["run", "demo", "--", "--port", String(port), "--speed", "20", "--duration", "5"]);
      const code = await Promise.race([demo.exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 120_000))]);
      if (code === "hung") await demo.stop();
      expect(code, demo.output()).toBe(0);
      expect(demo.output()).toMatch(/Switchboard is live with 5 producers/);
      expect(demo.output()).toMatch(/stopped cleanly/);
      expect(demo.output()).not.toMatch(/exited unexpectedly|did not stop within|Cannot find/);
    }, 150_000);

    it("npm start runs from dist/ alone, without src/", async () => {
      renameSync(join(clone, "src"), join(clone, "src.away"));
      try {
        const server = await start();
        expect(server.output()).not.toMatch(/compiling/);
        expect((await fetch(`${server.url}/login`)).status).toBe(200);
        await server.stop();
        expect(server.output()).toMatch(/"msg":"switchboard stopped"/);
      } finally {
        renameSync(join(clone, "src.away"), join(clone, "src"));
      }
    }, 120_000);

    it("refuses to run a dist/ older than src/ when it cannot compile, and says why", async () => {
      const later = new Date(Date.now() + 60_000);
      utimesSync(join(clone, "src", "cli.ts"), later, later);
      const cli = npm(["run", "switchboard", "--", "tenants", "list"]);
      expect(await cli.exited).not.toBe(0);
      expect(cli.output()).toMatch(/dist\/ is older than src\/; compiling it/);
      expect(cli.output()).toMatch(/TypeScript is not installed, so src\/ cannot be compiled to dist\/\./);
    }, 60_000);
  });
});
