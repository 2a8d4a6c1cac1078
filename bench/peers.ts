/**
 * `npm run bench -- --peers` (issue 13): Switchboard beside nchan (the C
 * pub/sub module for nginx) and the bare Node floors, every figure in
 * interleaved runs within the same minutes, so the ratios hold on a shared
 * machine. The scenarios are the usual ones (memory, fan-out, ingest,
 * replay), sized as the issue states its figures; peers-report.ts holds
 * them to the issue's goals.
 */
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import type { Bench } from "./bench-context.js";
import { frameBytes } from "./frame-bytes.js";
import { ensureNchan, startNchan, type NchanSettings } from "./nchan.js";
import type { Options } from "./options.js";
import type { Failed, PerTarget } from "./report.js";
import { fanout, type FanoutResult } from "./scenario-fanout.js";
import { ingest, type IngestFigures } from "./scenario-ingest.js";
import { memoryRounds, type MemoryFigures } from "./scenario-memory.js";
import { replay, type ReplayFigures } from "./scenario-replay.js";
import { startFloor, startOurs, type Target, type TargetName } from "./servers.js";

/** Ours first: when something fails to start, the report still says so for every server. */
const PEERS: readonly TargetName[] = ["ours", "nchan", "floor"];

export interface PeersResult {
  nginxVersion: string;
  /** Bytes of one tick's SSE frame as each server writes it, and what nchan's ticks were padded to. */
  frames: Partial<Record<TargetName, number>> & { nchanTicksPaddedTo?: number; oursEnvelope?: number; error?: string };
  started: PerTarget<{ pid: number; port: number }>;
  /** By idle streams, then server. */
  memory: Record<string, PerTarget<MemoryFigures>>;
  /** By subscribers, then server. */
  fanout: Record<string, PerTarget<FanoutResult>>;
  /** By concurrent clients, then server (the floor here is its bare POST handler): every run. */
  posts: Record<string, PerTarget<IngestFigures[]>>;
  ndjson?: IngestFigures[] | Failed;
  replay?: ReplayFigures | Failed;
}

/** Runs the comparison; `live` holds the servers running, so a signal handler can stop them. */
export async function peers(b: Bench, live: Target[]): Promise<PeersResult> {
  const p = b.opts.peer;
  const maxStreams = p.memoryOnly ? Math.max(...p.memorySizes) : Math.max(...p.sizes, ...p.memorySizes, p.burstEvents > 0 ? p.burstSubs : 0);
  const nchan: NchanSettings = {
    nginx: p.nginx,
    module: p.nchanModule,
    maxStreams,
    maxMessages: Math.max(p.burstEvents, Math.ceil(b.opts.steadyRate * b.opts.steadySeconds)),
  };
  ensureNchan(nchan, b.log);
  checkFileLimit(maxStreams, b.opts.clients);
  // The bench opens more streams on one tenant than a small host is allowed by default; a user's setting still wins.
  const oursEnv = { SSE_MAX_STREAMS_PER_TENANT: String(maxStreams + 1000), ...b.opts.serverEnv };
  const start = (name: TargetName) => (name === "ours" ? startOurs(oursEnv) : name === "nchan" ? startNchan(nchan) : startFloor());
  const out: PeersResult = { nginxVersion: nginxVersion(p.nginx), frames: {}, started: {}, memory: {}, fanout: {}, posts: {} };
  b.log(`Beside nchan (${out.nginxVersion}, one process) and the Node floors: ${p.runs} interleaved run(s) of every figure`);

  // Memory first, on fresh servers, as in the default run.
  for (const n of p.memorySizes) {
    out.memory[n] = await withOptions(b, { idleConns: n, memoryRepeats: p.runs }, () => memoryRounds(b, PEERS, start, live));
  }
  if (p.memoryOnly) return out;

  const servers: Target[] = [];
  for (const name of PEERS) {
    try {
      const t = await start(name);
      live.push(t);
      servers.push(t);
      out.started[name] = { pid: t.pid, port: t.port };
      b.log(`started ${name}: pid ${t.pid}, port ${t.port}`);
    } catch (err) {
      out.started[name] = { error: (err as Error).message };
      b.log(`could not start ${name}: ${(err as Error).message}`);
    }
  }
  const byName = (name: TargetName) => servers.find((t) => t.name === name);

  out.frames = await matchFrames(servers, b.log);

  // Steady runs at every size; the burst at its own size (alone when that is not one of them).
  const burstSubs = p.burstEvents > 0 ? [p.burstSubs] : [];
  for (const n of [...new Set([...p.sizes, ...burstSubs])].sort((x, y) => x - y)) {
    const steady = p.sizes.includes(n);
    const burst = burstSubs.includes(n);
    b.log(`Fan-out to ${n} subscribers${steady ? `, ${b.opts.steadyRate} events/s` : ""}${burst ? `${steady ? " and" : ","} burst of ${p.burstEvents} single-event publishes` : ""} — ${servers.map((t) => t.name).join(", ")}, runs alternating`);
    out.fanout[n] = await withOptions(
      b,
      { steadyRepeats: steady ? p.runs : 0, burstRepeats: burst ? p.runs : 0, burstBatch: 1, burstConns: p.burstConns, burstDeliveries: p.burstEvents * n },
      () => fanout(b, servers, n),
    );
  }

  const ours = byName("ours");
  const floor = byName("floor");
  // The floor's bare handler: read the body, JSON.parse, answer 201 (bench/floor.ts, POST /accept).
  const postTargets = [ours, floor && { ...floor, publish: { ...floor.publish, path: "/accept" } }].filter((t): t is Target => t !== undefined);
  for (const conns of p.postConns) {
    const runs: PerTarget<IngestFigures[]> = (out.posts[conns] = {});
    for (let r = 0; r < p.runs; r++) {
      for (const t of r % 2 === 0 ? postTargets : [...postTargets].reverse()) {
        const done = runs[t.name];
        if (done && "error" in done) continue;
        b.log(`Single-event POSTs, ${conns} clients — ${t.name} #${r + 1}`);
        try {
          const f = await withOptions(b, { ingestConns: conns }, () => ingest(b, t, "single"));
          ((runs[t.name] ??= []) as IngestFigures[]).push(f);
          b.log(`  ${Math.round(f.eventsPerSec).toLocaleString("en-US")} events/s, server ${f.serverCpuUsPerEvent.toFixed(1)} µs/request, ${f.errors} errors`);
        } catch (err) {
          runs[t.name] = { error: (err as Error).message };
          b.log(`  error: ${(err as Error).message}`);
        }
      }
    }
  }

  if (!ours) return out;
  // Ours alone: neither peer keeps a durable log to append to or replay from.
  const ndjson: IngestFigures[] = [];
  try {
    for (let r = 0; r < p.runs; r++) {
      b.log(`NDJSON ingest, ${b.opts.ndjsonConns} clients × ${b.opts.ndjsonBatch}-event batches — ours #${r + 1}`);
      const f = await ingest(b, ours, "ndjson");
      ndjson.push(f);
      b.log(`  ${Math.round(f.eventsPerSec).toLocaleString("en-US")} events/s, server ${f.serverCpuUsPerEvent.toFixed(2)} µs/event, ${f.errors} errors`);
    }
    out.ndjson = ndjson;
  } catch (err) {
    out.ndjson = { error: (err as Error).message };
    b.log(`  error: ${(err as Error).message}`);
  }
  // The issue states replay for ~312-byte frames: the events are padded to that (what our envelope adds was measured above).
  const replayPadTo = out.frames.oursEnvelope === undefined ? 0 : p.replayFrameBytes - out.frames.oursEnvelope;
  b.log(`Catch-up replay of ${p.replayEvents.toLocaleString("en-US")} events${replayPadTo > 0 ? ` (${p.replayFrameBytes}-byte frames)` : ""} to one reader — ours`);
  try {
    const padded = { ...ours, publish: { ...ours.publish, padTicksTo: replayPadTo } };
    out.replay = await withOptions(b, { replayEvents: p.replayEvents, replayRepeats: p.runs }, () => replay(b, padded));
  } catch (err) {
    out.replay = { error: (err as Error).message };
    b.log(`  error: ${(err as Error).message}`);
  }
  return out;
}

/** Runs `fn` with some options changed; the scenarios read their sizes from `bench.opts`. */
async function withOptions<T>(b: Bench, patch: Partial<Options>, fn: () => Promise<T>): Promise<T> {
  const saved = b.opts;
  b.opts = { ...saved, ...patch };
  try {
    return await fn();
  } finally {
    b.opts = saved;
  }
}

/**
 * Measures one tick's frame on each server and pads nchan's ticks so its
 * frames are as long as ours: CPU per delivery is mostly `send`, which
 * costs by the byte as well as by the call.
 */
async function matchFrames(servers: Target[], log: (line: string) => void): Promise<PeersResult["frames"]> {
  const frames: PeersResult["frames"] = {};
  try {
    let bare = { frame: 0, body: 0 };
    for (const t of servers) {
      const f = await frameBytes(t);
      frames[t.name] = f.frame;
      if (t.name === "nchan") bare = f;
      if (t.name === "ours") frames.oursEnvelope = f.frame - f.body;
    }
    const nchan = servers.find((t) => t.name === "nchan");
    if (nchan && frames.ours !== undefined) {
      // What nchan adds around the JSON (its id line, `data: `, the blank line) stays; the JSON grows.
      const padTo = frames.ours - (bare.frame - bare.body);
      nchan.publish.padTicksTo = padTo;
      frames.nchanTicksPaddedTo = padTo;
      frames.nchan = (await frameBytes(nchan)).frame;
    }
    log(`Frames of one tick: ${servers.map((t) => `${t.name} ${frames[t.name]} B`).join(", ")}${frames.nchanTicksPaddedTo ? ` (nchan's ticks padded to ${frames.nchanTicksPaddedTo} B of JSON)` : ""}`);
  } catch (err) {
    frames.error = (err as Error).message;
    log(`  could not measure frames, nchan's are shorter than ours: ${frames.error}`);
  }
  return frames;
}

/**
 * Every server holds up to `maxStreams` sockets, and the subscriber workers
 * hold those of all three servers at once (fan-out streams stay open side by
 * side). The servers and workers inherit this process's limit.
 */
function checkFileLimit(maxStreams: number, clients: number): void {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "latin1"));
  const limit = !m || m[1] === "unlimited" ? Infinity : Number(m[1]);
  const need = Math.max(maxStreams, Math.ceil((PEERS.length * maxStreams) / clients)) + 512;
  if (limit < need) {
    throw new Error(`the open-files limit is ${limit}, and ${maxStreams} streams per server need ${need}: raise it (\`ulimit -n ${need}\`) or lower --peer-sizes / --peer-memory-sizes`);
  }
}

function nginxVersion(nginx: string): string {
  const r = spawnSync(nginx, ["-v"], { encoding: "utf8" });
  return /nginx\/\S+/.exec(`${r.stderr}${r.stdout}`)?.[0] ?? "nginx";
}
