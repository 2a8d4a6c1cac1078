/**
 * What one console tab receives during the demo: a quick measurement, not a
 * scenario of `npm run bench`. Runs `npm run demo` of a checkout (default:
 * this one) on a free port, signs in with the key it prints, opens the
 * tenant console's page stream as a browser tab would, and beside it the
 * tenant's JSON stream, which tells what events each page frame was made
 * from. Prints the SSE bytes per minute of the tab, and the bytes of the
 * frames made from `workflow.progress` ticks alone.
 *
 *   npx tsx bench/console-stream-bytes.ts [checkout-dir] [seconds=120] [speed=1]
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

const checkout = resolve(process.argv[2] ?? ".");
const seconds = Number(process.argv[3] ?? 120);
const speed = process.argv[4] ?? "1";
/** The demo warms up (producers connect, first workflows start) before the window opens. */
const WARM_UP_MS = 10_000;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Frame {
  at: number;
  id: number;
  bytes: number;
}

/** Reads an SSE response body, calling `onFrame` with each frame's id (if any) and its size on the wire. */
async function readFrames(res: Response, onFrame: (id: number | null, bytes: number, text: string) => void, signal: AbortSignal): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  signal.addEventListener("abort", () => void reader.cancel().catch(() => undefined));
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const text = buffer.slice(0, end + 2);
      buffer = buffer.slice(end + 2);
      const id = /^id: (\d+)$/m.exec(text);
      onFrame(id ? Number(id[1]) : null, Buffer.byteLength(text), text);
    }
  }
}

const pct = (xs: number[], p: number) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]);

async function main(): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const demo = spawn(process.execPath, ["--import", "tsx", "src/demo.ts", "--port", String(port), "--duration", String(seconds + 40), "--speed", speed], {
    cwd: checkout,
    env: { ...process.env, NO_COLOR: "1", LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const key = await new Promise<string>((done, fail) => {
    const lines = createInterface({ input: demo.stdout! });
    lines.on("line", (line) => {
      const m = /\/login#key=(sb_[A-Za-z0-9_-]+)/.exec(line);
      if (m) done(m[1]);
    });
    demo.once("exit", () => fail(new Error("the demo exited before printing its key")));
  });
  const stop = new AbortController();
  try {
    const login = await fetch(`${url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: url },
      body: new URLSearchParams({ key }),
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    await new Promise((r) => setTimeout(r, WARM_UP_MS));

    // The page as a browser loads it, then its stream from the head it was rendered at.
    const page = await (await fetch(`${url}/t/demo`, { headers: { cookie } })).text();
    const liveUrl = /hx-sse:connect="([^"]+)"/.exec(page)![1].replace(/&amp;/g, "&");
    const head = Number(/after=(\d+)/.exec(liveUrl)![1]);
    const types = new Map<number, string>();
    const json = await fetch(`${url}/api/v1/tenants/demo/stream?after=${head}`, { headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" }, signal: stop.signal });
    void readFrames(json, (id, _bytes, text) => {
      const type = /^event: (.+)$/m.exec(text)?.[1];
      if (id !== null && type) types.set(id, type);
    }, stop.signal);
    const live = await fetch(url + liveUrl, { headers: { cookie, accept: "text/event-stream" }, signal: stop.signal });
    const frames: Frame[] = [];
    let total = 0;
    const start = Date.now();
    void readFrames(live, (id, bytes) => {
      total += bytes;
      if (id !== null) frames.push({ at: Date.now() - start, id, bytes });
    }, stop.signal);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    stop.abort();

    // Each frame was made from the events after the previous frame's id, up to its own.
    const tick: number[] = [];
    const byType = new Map<string, { frames: number; bytes: number }>();
    let previous = head;
    for (const f of frames) {
      const made = [...types].filter(([id]) => id > previous && id <= f.id).map(([, type]) => type);
      previous = f.id;
      const kinds = [...new Set(made)].sort().join("+") || "?";
      const entry = byType.get(kinds) ?? { frames: 0, bytes: 0 };
      entry.frames++;
      entry.bytes += f.bytes;
      byType.set(kinds, entry);
      if (kinds === "workflow.progress") tick.push(f.bytes);
    }
    const perMinute = (total / seconds) * 60;
    console.log(`checkout ${checkout}, ${seconds} s of the demo at speed ${speed}, one console tab (/t/demo)`);
    console.log(`  SSE bytes: ${total} in ${frames.length} frames; ${Math.round(perMinute)} bytes per minute (${(perMinute / 1024).toFixed(1)} KiB/min)`);
    console.log(`  frames made from workflow.progress ticks alone: ${tick.length}; bytes each: median ${pct(tick, 50)}, p90 ${pct(tick, 90)}, max ${Math.max(0, ...tick)}`);
    console.log("  by the event types a frame was made from (frames, bytes, bytes per frame):");
    for (const [kinds, { frames: n, bytes }] of [...byType].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 15)) {
      console.log(`    ${kinds.padEnd(48)} ${String(n).padStart(5)} ${String(bytes).padStart(9)} ${String(Math.round(bytes / n)).padStart(7)}`);
    }
  } finally {
    stop.abort();
    demo.kill("SIGTERM");
    await new Promise((r) => demo.once("exit", r));
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
