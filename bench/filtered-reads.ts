/**
 * Filtered reads on a large tenant: fills one tenant with 1M events over
 * NDJSON (reporting the ingest rate), then times the reads that used to scan
 * the tenant's events. The server runs in its own process, idle but for the
 * request measured, so a request's time is about the time its handler held
 * the event loop.
 *
 *   npx tsx bench/filtered-reads.ts            # 1,000,000 events
 *   EVENTS=200000 npx tsx bench/filtered-reads.ts
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const BATCH = 1000;
const CONNS = 4;
const KEY = "bench-admin-key-0123456789abcdef";

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Event i of the fill: 10% call.started (one call each), 20% deploy.step, 70% bench.ingest (as the ingest bench sends). */
function line(i: number): string {
  if (i % 10 === 0) return `{"type":"call.started","subject":"call-${i}","data":{"direction":"inbound","number":"+14155550100"}}`;
  if (i % 10 < 3) return `{"type":"deploy.step","subject":"d${i % 100}","data":{"message":"step ${i}"}}`;
  return `{"type":"bench.ingest","subject":"s${i % 16}","data":{"seq":${i},"src":"bench","note":"durable append throughput"}}`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-filtered-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The server runs this same file in its own process (see the end), not src/main.ts by name.
  const server = spawn(process.execPath, ["--import", "tsx", "bench/filtered-reads.ts", "--serve"], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: join(dir, "sb.db"), SWITCHBOARD_ADMIN_KEY: KEY, LOG_LEVEL: "warn", RETENTION_MAX_AGE: "0", RETENTION_MAX_EVENTS: "0" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const auth = { authorization: `Bearer ${KEY}` };
  try {
    for (let i = 0; ; i++) {
      if (i > 300) throw new Error("server did not start");
      if ((await fetch(`${base}/healthz`).catch(() => null))?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONNS }, async () => {
        while (next < EVENTS) {
          const from = next;
          next += BATCH;
          const body = Array.from({ length: Math.min(BATCH, EVENTS - from) }, (_, j) => line(from + j)).join("\n");
          const res = await fetch(`${base}/api/v1/tenants/demo/events`, { method: "POST", headers: { ...auth, "content-type": "application/x-ndjson" }, body });
          if (res.status !== 201) throw new Error(`publish: ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
    const ingestSec = (performance.now() - started) / 1000;
    // Let the server settle after the fill (checkpointing a large WAL) so that is not timed as a read.
    await new Promise((r) => setTimeout(r, 3_000));

    const time = async (path: string, headers: Record<string, string> = auth) => {
      const t = performance.now();
      const res = await fetch(base + path, { headers });
      const body = await res.text();
      if (!res.ok) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
      return { ms: performance.now() - t, body };
    };
    const repeat = async (path: string, n = 5) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) ms.push((await time(path)).ms);
      return { median: median(ms), max: Math.max(...ms) };
    };

    const nomatchType = await repeat("/api/v1/tenants/demo/events?types=nomatch.*");
    const nomatchSubject = await repeat("/api/v1/tenants/demo/events?subject=nomatch");
    const oneSubject = await repeat("/api/v1/tenants/demo/events?subject=call-500000&limit=10");

    // Page through every call.* event, 1,000 a page, as a client following `next`.
    const pages: number[] = [];
    let after = 0;
    let calls = 0;
    const pagingStarted = performance.now();
    for (;;) {
      const { ms, body } = await time(`/api/v1/tenants/demo/events?types=call.*&limit=1000&after=${after}`);
      const page = JSON.parse(body) as { events: unknown[]; next: number; head: number };
      pages.push(ms);
      calls += page.events.length;
      if (page.events.length < 1000) break;
      after = page.next;
    }
    const pagingMs = performance.now() - pagingStarted;

    // The stats page needs a console session; its topic counts are cached 4 s, so each sample waits that out.
    const login = await fetch(`${base}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: base, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: KEY }).toString(),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const stats: number[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 4_200));
      stats.push((await time("/t/demo/stats", { cookie, "hx-request": "true" })).ms);
    }

    const fmt = (x: number) => x.toFixed(1);
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, node ${process.version}`);
    console.log(`tenant events: ${EVENTS} (10% call.started, 20% deploy.step, 70% bench.ingest)`);
    console.log(`NDJSON fill: ${Math.round(EVENTS / ingestSec)} events/s (${CONNS} connections × ${BATCH}-event requests)`);
    console.log(`?types=nomatch.*          median ${fmt(nomatchType.median)} ms, max ${fmt(nomatchType.max)} ms`);
    console.log(`?subject=nomatch          median ${fmt(nomatchSubject.median)} ms, max ${fmt(nomatchSubject.max)} ms`);
    console.log(`?subject=call-500000      median ${fmt(oneSubject.median)} ms, max ${fmt(oneSubject.max)} ms`);
    console.log(`?types=call.* paging      ${calls} events in ${pages.length} pages, ${fmt(pagingMs)} ms; page median ${fmt(median(pages))} ms, max ${fmt(Math.max(...pages))} ms`);
    console.log(`stats page (uncached)     ${stats.map(fmt).join(", ")} ms`);
  } finally {
    server.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The server process: the real server, configured from the environment as main.ts would. */
async function serve(): Promise<void> {
  const { loadConfig } = await import("../src/config.js");
  const { startServer } = await import("../src/server.js");
  await startServer(loadConfig(process.env));
}

await (process.argv.includes("--serve") ? serve() : main());
