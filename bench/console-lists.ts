/**
 * The console's calls and chat sessions lists on a large tenant: writes
 * 200,000 calls and 50,000 sessions straight into the projection tables of
 * a fresh, migrated database (as the projections would have left them after
 * some million events), starts the server on it in its own process, and
 * times each list page over HTTP (query and render): the first page, a page
 * deep in the list, and each filter. Also the list query alone, in this
 * process, on the same file.
 *
 *   npx tsx bench/console-lists.ts
 *   CALLS=50000 SESSIONS=10000 npx tsx bench/console-lists.ts
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
// The tests' seeded PRNG (mulberry32): every run writes the same rows.
import { seeded } from "../test/support/random.js";

const CALLS = Number(process.env.CALLS ?? 200_000);
const SESSIONS = Number(process.env.SESSIONS ?? 50_000);
const RUNS = 9;
const KEY = "bench-admin-key-0123456789abcdef";
const DAY = 86_400_000;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number) => x.toFixed(1);

/** Fills the database at `path`: calls over 30 days (1% still active) and sessions, 90% of both in `demo`. */
async function seed(path: string, now: number): Promise<void> {
  const { openDb } = await import("../src/store/db.js");
  const { calls } = await import("../src/domain/calls/schema.js");
  const { chatSessions } = await import("../src/domain/chat/schema.js");
  const db = openDb(path, { durability: "normal" });
  const random = seeded(20_261_129);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];
  const agents = Array.from({ length: 20 }, (_, i) => `agent-${i}`);
  const tenant = () => (random() < 0.9 ? "demo" : "acme");
  const CHUNK = 5_000;
  for (let done = 0; done < CALLS; done += CHUNK) {
    db.transaction((tx) => {
      for (let i = done; i < Math.min(CALLS, done + CHUNK); i++) {
        // Oldest first, as they would have started: the list's newest are the last written.
        const startedAt = now - 30 * DAY + Math.floor((i / CALLS) * 30 * DAY);
        const active = i > CALLS * 0.99 && random() < 0.5;
        tx.insert(calls)
          .values({
            tenant: tenant(),
            callId: `call-${i}`,
            direction: random() < 0.6 ? "inbound" : "outbound",
            number: `•••${String(Math.floor(random() * 10_000)).padStart(4, "0")}`,
            agent: pick(agents),
            client: pick(["acme", "northwind", null]),
            status: active ? "active" : "ended",
            startedAt,
            endedAt: active ? null : startedAt + 60_000,
            durationMs: active ? null : 60_000,
            endStatus: active ? null : pick(["completed", "completed", "no-answer", "busy"]),
            eventId: i + 1,
          })
          .run();
      }
    });
  }
  for (let done = 0; done < SESSIONS; done += CHUNK) {
    db.transaction((tx) => {
      for (let i = done; i < Math.min(SESSIONS, done + CHUNK); i++) {
        const updatedAt = now - 30 * DAY + Math.floor((i / SESSIONS) * 30 * DAY);
        const r = random();
        tx.insert(chatSessions)
          .values({
            tenant: tenant(),
            sessionId: `session-${i}`,
            agent: pick(agents.slice(0, 5)),
            title: random() < 0.5 ? `Order ${10_000 + i} question` : null,
            status: r < 0.01 ? "answering" : r < 0.03 ? "waiting" : "idle",
            unanswered: r < 0.01 ? 0 : r < 0.05 ? 1 : 0,
            createdAt: updatedAt,
            updatedAt,
            eventId: CALLS + i + 1,
          })
          .run();
      }
    });
  }
  db.$client.pragma("wal_checkpoint(TRUNCATE)");
  db.$client.close();
}

/** The list queries alone, in this process: median and max of RUNS, in ms. */
async function queryTimes(path: string, cases: { name: string; list: "calls" | "sessions"; query: Record<string, string> }[]) {
  const { openDb } = await import("../src/store/db.js");
  const { callsPage } = await import("../src/domain/calls/queries.js");
  const { callFilter } = await import("../src/domain/calls/filter.js");
  const { sessionsPage } = await import("../src/domain/chat/queries.js");
  const { sessionFilter } = await import("../src/domain/chat/sessions-filter.js");
  const db = openDb(path, { migrate: false });
  const out = new Map<string, { median: number; max: number }>();
  for (const c of cases) {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      if (c.list === "calls") callsPage(db, "demo", callFilter(c.query));
      else sessionsPage(db, "demo", sessionFilter(c.query));
      ms.push(performance.now() - t);
    }
    out.set(c.name, { median: median(ms), max: Math.max(...ms) });
  }
  db.$client.close();
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-lists-"));
  const path = join(dir, "sb.db");
  const now = Date.now();
  const seedStarted = performance.now();
  await seed(path, now);
  const seedSec = (performance.now() - seedStarted) / 1000;

  // Cursors deep in each list: the row half way down the tenant's calls and sessions.
  const { default: Database } = await import("better-sqlite3");
  const raw = new Database(path, { readonly: true });
  const deep = (sql: string) => {
    const row = raw.prepare(sql).get() as { at: number; seq: number };
    return `${row.at}.${row.seq}`;
  };
  const callsDeep = deep(`SELECT started_at AS at, rowid AS seq FROM calls WHERE tenant = 'demo' ORDER BY started_at DESC, rowid DESC LIMIT 1 OFFSET ${Math.floor(CALLS * 0.45)}`);
  const sessionsDeep = deep(`SELECT updated_at AS at, rowid AS seq FROM chat_sessions WHERE tenant = 'demo' ORDER BY updated_at DESC, rowid DESC LIMIT 1 OFFSET ${Math.floor(SESSIONS * 0.45)}`);
  raw.close();

  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const cases: { name: string; list: "calls" | "sessions"; query: Record<string, string> }[] = [
    { name: "calls: first page", list: "calls", query: {} },
    { name: "calls: page deep in the list (45%)", list: "calls", query: { before: callsDeep } },
    { name: "calls: status=active", list: "calls", query: { status: "active" } },
    { name: "calls: status=ended, deep", list: "calls", query: { status: "ended", before: callsDeep } },
    { name: "calls: direction=outbound", list: "calls", query: { direction: "outbound" } },
    { name: "calls: agent=agent-7", list: "calls", query: { agent: "agent-7" } },
    { name: "calls: last4=0142", list: "calls", query: { last4: "0142" } },
    { name: "calls: one day, 10 days ago", list: "calls", query: { from: day(now - 10 * DAY), to: day(now - 10 * DAY) } },
    { name: "calls: agent + direction + status", list: "calls", query: { agent: "agent-3", direction: "inbound", status: "ended" } },
    { name: "sessions: first page", list: "sessions", query: {} },
    { name: "sessions: page deep in the list (45%)", list: "sessions", query: { before: sessionsDeep } },
    { name: "sessions: status=waiting", list: "sessions", query: { status: "waiting" } },
    { name: "sessions: agent=agent-2", list: "sessions", query: { agent: "agent-2" } },
    { name: "sessions: unread=1", list: "sessions", query: { unread: "1" } },
    { name: "sessions: q=order 1234 (search)", list: "sessions", query: { q: "Order 1234" } },
    { name: "sessions: q=nomatch (reads the tenant)", list: "sessions", query: { q: "nomatch" } },
  ];
  const queries = await queryTimes(path, cases);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The server runs this same file in its own process (see the end), not src/main.ts by name.
  const server = spawn(process.execPath, ["--import", "tsx", "bench/console-lists.ts", "--serve"], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: path, SWITCHBOARD_ADMIN_KEY: KEY, LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    for (let i = 0; ; i++) {
      if (i > 600) throw new Error("server did not start");
      if ((await fetch(`${base}/healthz`).catch(() => null))?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const login = await fetch(`${base}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: base, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ key: KEY }).toString(),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];

    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, node ${process.version}`);
    console.log(`rows: ${CALLS} calls, ${SESSIONS} sessions (90% in demo), written in ${fmt(seedSec)} s`);
    console.log(`${"".padEnd(42)} ${"page over HTTP".padEnd(24)} query alone`);
    for (const c of cases) {
      const url = `${base}/t/demo/${c.list}?${new URLSearchParams(c.query)}`;
      const ms: number[] = [];
      let rows = 0;
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        // As the filter form asks: the list alone (the page's frame around it costs the same whatever the list).
        const res = await fetch(url, { headers: { cookie, "hx-request": "true" } });
        const body = await res.text();
        ms.push(performance.now() - t);
        if (!res.ok) throw new Error(`${url}: ${res.status} ${body.slice(0, 200)}`);
        rows = (body.match(/<li id="/g) ?? []).length;
      }
      const q = queries.get(c.name)!;
      const page = `median ${fmt(median(ms))}, max ${fmt(Math.max(...ms))} ms`;
      console.log(`${c.name.padEnd(42)} ${page.padEnd(24)} median ${fmt(q.median)}, max ${fmt(q.max)} ms  (${rows} rows)`);
    }
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
