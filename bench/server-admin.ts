/**
 * What the isolation cases ask of our server besides load, all through its
 * public surface: the CLI (a tenant and a key of its own for the probe; the
 * Mercure scenario's tenants too), the console's login form (a session
 * cookie for page streams), and /metrics (event-loop delay, open streams,
 * slow-consumer cuts).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { REPO_ROOT, type Target } from "./servers.js";

const CLI = path.join(REPO_ROOT, "src", "cli.ts");

function cli(target: Target, args: string[]): Promise<string> {
  if (!target.dbPath) throw new Error(`${target.name} has no database for the CLI`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: target.dbPath, LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString("utf8")));
    child.stderr.on("data", (b: Buffer) => (out += b.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`switchboard ${args.join(" ")} exited with ${code}: ${out.trim()}`));
    });
  });
}

/** Creates a tenant (the CLI works while the server runs). */
export async function createTenant(target: Target, tenant: string): Promise<void> {
  await cli(target, ["tenants", "create", tenant]);
}

/**
 * Creates a tenant and a read+publish key bound to it (the CLI works while
 * the server runs); resolves with the key's secret.
 */
export async function createTenantKey(target: Target, tenant: string): Promise<string> {
  await createTenant(target, tenant);
  const out = await cli(target, ["keys", "create", "--tenant", tenant, "--scopes", "read,publish", "--label", `bench ${tenant}`]);
  // The secret is printed alone on an indented line, once.
  const secret = /^\s{2}(\S{24,})\s*$/m.exec(out)?.[1];
  if (!secret) throw new Error(`no key secret in the CLI's output: ${out}`);
  return secret;
}

/** Logs in to the console with the admin key, as the login form does; resolves with the Cookie header. */
export async function consoleLogin(target: Target): Promise<string> {
  const origin = `http://127.0.0.1:${target.port}`;
  const res = await fetch(`${origin}/login`, {
    method: "POST",
    // The console's CSRF check compares Origin with the server's own.
    headers: { "content-type": "application/x-www-form-urlencoded", origin },
    body: new URLSearchParams({ key: target.adminKey ?? "" }).toString(),
    redirect: "manual",
    signal: AbortSignal.timeout(10_000),
  });
  const cookies = res.headers.getSetCookie().map((c) => c.split(";", 1)[0]);
  if (res.status !== 303 || cookies.length === 0) throw new Error(`console login answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  return cookies.join("; ");
}

/** Metric name → value of every unlabelled sample in /metrics. */
export type Metrics = Map<string, number>;

/**
 * Scrapes /metrics. prom-client resets its event-loop-delay histogram on
 * every scrape, so the `nodejs_eventloop_lag_*` figures of one scrape cover
 * the time since the previous one: a scrape at the start of a phase and one
 * at its end bracket it. Null when the server did not answer in time.
 */
export async function scrapeMetrics(target: Target, timeoutMs: number): Promise<Metrics | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${target.port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) return null;
    const out: Metrics = new Map();
    for (const line of (await res.text()).split("\n")) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) ([-+0-9.eE]+|NaN)$/.exec(line);
      if (m) out.set(m[1], Number(m[2]));
    }
    return out;
  } catch {
    return null;
  }
}
