/**
 * How long Switchboard takes to start and a CLI call takes to finish, from
 * source (TypeScript through tsx) and compiled (`npm run build`, dist/):
 *
 *   npx tsx bench/startup.ts [--runs 5]
 *
 * Start: from spawn to the first 200 from /healthz (polled every 25 ms), on
 * a fresh database each run, plus the server's resident memory at that
 * moment (direct runs only: with npm the pid is npm's). CLI: from spawn to
 * exit of `tenants list`. Each command runs once to warm caches (tsx's
 * transform cache, the page cache), then `--runs` times; the median and the
 * range are printed. Run `npm run build` first for the compiled rows.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "./servers.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const RUNS = Number(values.runs);

interface Command {
  name: string;
  argv: string[];
}

const node = process.execPath;
const starts: Command[] = [
  { name: "npm start", argv: ["npm", "start", "--silent"] },
  { name: "node --import tsx src/main.ts", argv: [node, "--import", "tsx", "src/main.ts"] },
  { name: "node dist/main.js", argv: [node, "--enable-source-maps", "dist/main.js"] },
];
const clis: Command[] = [
  { name: "npm run switchboard -- tenants list", argv: ["npm", "run", "--silent", "switchboard", "--", "tenants", "list"] },
  { name: "node --import tsx src/cli.ts tenants list", argv: [node, "--import", "tsx", "src/cli.ts", "tenants", "list"] },
  { name: "node dist/cli.js tenants list", argv: [node, "--enable-source-maps", "dist/cli.js", "tenants", "list"] },
];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function rssMiB(pid: number): number | null {
  try {
    const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kib ? Math.round(Number(kib) / 1024) : null;
  } catch {
    return null;
  }
}

/** Starts the server, polls /healthz until 200, stops it; resolves with the time to healthy and the RSS then. */
async function timeStart(cmd: Command): Promise<{ ms: number; rss: number | null }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "switchboard-startup-"));
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(cmd.argv[0], cmd.argv.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: path.join(dir, "db.sqlite"), LOG_LEVEL: "warn" },
    stdio: "ignore",
    detached: true, // its own process group, so npm and what it started stop together
  });
  let exited = false;
  const exit = new Promise<void>((r) => child.once("exit", () => ((exited = true), r())));
  try {
    for (;;) {
      if (exited) throw new Error(`${cmd.name} exited before it was healthy`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return { ms: performance.now() - t0, rss: cmd.argv[0] === node ? rssMiB(child.pid!) : null };
  } finally {
    process.kill(-child.pid!, "SIGTERM");
    await exit;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timeCli(cmd: Command, database: string): Promise<{ ms: number; rss: null }> {
  const t0 = performance.now();
  const child = spawn(cmd.argv[0], cmd.argv.slice(1), { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: database }, stdio: "ignore" });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`${cmd.name} exited with ${code}`);
  return { ms: performance.now() - t0, rss: null };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(cmd: Command, once: () => Promise<{ ms: number; rss: number | null }>): Promise<void> {
  await once(); // warm-up
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once());
  const ms = runs.map((r) => r.ms);
  const rss = runs.map((r) => r.rss).filter((r): r is number => r !== null);
  const range = `${(Math.min(...ms) / 1000).toFixed(2)}–${(Math.max(...ms) / 1000).toFixed(2)} s`;
  console.log(`${cmd.name.padEnd(45)} median ${(median(ms) / 1000).toFixed(2)} s (${range})${rss.length ? `, RSS ${median(rss)} MiB` : ""}`);
}

async function main(): Promise<void> {
  console.log(`${os.cpus().length} × ${os.cpus()[0]?.model}, load ${os.loadavg().map((v) => v.toFixed(2)).join(" ")}, ${RUNS} runs after one warm-up`);
  const compiled = existsSync(path.join(REPO_ROOT, "dist", "main.js"));
  const skip = (c: Command) => !compiled && c.argv.some((a) => a.startsWith("dist/"));
  console.log("start, to the first /healthz 200:");
  for (const cmd of starts) if (!skip(cmd)) await measure(cmd, () => timeStart(cmd));
  const dir = mkdtempSync(path.join(os.tmpdir(), "switchboard-startup-"));
  const database = path.join(dir, "db.sqlite");
  try {
    console.log("CLI call, to exit:");
    for (const cmd of clis) if (!skip(cmd)) await measure(cmd, () => timeCli(cmd, database));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`load ${os.loadavg().map((v) => v.toFixed(2)).join(" ")}`);
}

void main();
