/**
 * Publish latency with console page groups open: a quick measurement, not a
 * scenario of `npm run bench`. Starts `src/main.ts` of a checkout (default:
 * this one) on a fresh database, seeds a tenant, opens pages with distinct
 * filters (each its own group), then publishes events one at a time and
 * reports the time to each 201.
 *
 *   npx tsx bench/console-page-groups.ts [checkout-dir] [groups...]
 *
 * A count written `j1000` opens that many pages whose URLs differ only by a
 * junk parameter (`?junk=<i>`) instead of by their filters.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const KEY = "bench-admin-key-0123456789abcdef";
const PUBLISHES = Number(process.env.PUBLISHES ?? 150);

const checkout = resolve(process.argv[2] ?? ".");
const groupCounts = process.argv.slice(3);
if (groupCounts.length === 0) groupCounts.push("0", "20", "100");

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function post(url: string, body: unknown): Promise<number> {
  const res = await fetch(`${url}/api/v1/tenants/demo/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function run(spec: string): Promise<{ p50: number; p90: number; max: number }> {
  const junk = spec.startsWith("j");
  const groups = Number(junk ? spec.slice(1) : spec);
  const dir = mkdtempSync(join(tmpdir(), "sb-groups-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...(process.env.PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF}`] : []), "--import", "tsx", "src/main.ts"], {
    cwd: checkout,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: join(dir, "db.sqlite"),
      SWITCHBOARD_ADMIN_KEY: KEY,
      LOG_LEVEL: "error",
      CONSOLE_MAX_PAGE_GROUPS_PER_TENANT: "10000",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const sockets: Socket[] = [];
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        if (i > 300) throw new Error("server did not start");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // A console with something in every panel.
    const seed = [
      ...Array.from({ length: 30 }, (_, i) => ({ type: "agent.status", subject: `agent-${i}`, data: { status: "available", name: `Agent ${i}`, capabilities: ["chat"] } })),
      ...Array.from({ length: 15 }, (_, i) => ({ type: "call.started", subject: `call-${i}`, data: { number: `+1555000${1000 + i}`, direction: "inbound" } })),
      ...Array.from({ length: 100 }, (_, i) => ({ type: "note.added", subject: `n-${i}`, data: { text: `seed ${i}` } })),
    ];
    if ((await post(url, seed)) !== 201) throw new Error("seed refused");
    const login = await fetch(`${url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: url },
      body: new URLSearchParams({ key: KEY }),
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    for (let i = 0; i < groups; i++) {
      const s = connect({ host: "127.0.0.1", port });
      const query = junk ? `junk=${i}` : `agent_q=${i % 2 ? "agent" : "Agent"}+${i}&topic=t${i}`;
      s.write(`GET /t/demo/live?${query} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nCookie: ${cookie}\r\n\r\n`);
      s.on("data", () => {});
      s.on("error", () => {});
      sockets.push(s);
    }
    // Let every stream connect and catch up before measuring.
    await new Promise((r) => setTimeout(r, 1000 + groups * 10));
    const times: number[] = [];
    for (let i = 0; i < PUBLISHES; i++) {
      const event =
        i % 3 === 0
          ? { type: "agent.status", subject: `agent-${i % 30}`, data: { status: i % 2 ? "busy" : "available" } }
          : i % 3 === 1
            ? { type: "note.added", subject: `n-${i}`, data: { text: `note ${i}` } }
            : { type: "call.started", subject: `bench-call-${i}`, data: { number: "+15550001234", direction: "inbound" } };
      const t = performance.now();
      const status = await post(url, event);
      times.push(performance.now() - t);
      if (status !== 201) throw new Error(`publish answered ${status}`);
    }
    return { p50: pct(times, 50), p90: pct(times, 90), max: Math.max(...times) };
  } finally {
    for (const s of sockets) s.destroy();
    child.kill(process.env.PROF ? "SIGTERM" : "SIGKILL");
    if (process.env.PROF) await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const spec of groupCounts) {
  const r = await run(spec);
  console.log(`${checkout}  pages=${spec.padStart(5)}  publish p50 ${r.p50.toFixed(1)} ms  p90 ${r.p90.toFixed(1)} ms  max ${r.max.toFixed(0)} ms`);
}
