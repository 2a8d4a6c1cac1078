/**
 * `npm run bench`: starts the floor and Switchboard side by side, runs each
 * scenario against one and then the other (interleaved, so slow drift of a
 * shared machine hits both alike), prints the table and writes
 * bench/results/latest.json. Every child process is killed at the end,
 * whatever happened.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { probeDisk } from "./disk-probe.js";
import { readOptions, type Scenario } from "./options.js";
import { buildRows, formatTable, type PerTarget, type Results } from "./report.js";
import type { Bench } from "./bench-context.js";
import { fanout } from "./scenario-fanout.js";
import { ingest } from "./scenario-ingest.js";
import { formatIsolationTable, isolationNotes, isolationRows } from "./isolation-report.js";
import { isolation } from "./scenario-isolation.js";
import { memoryRounds } from "./scenario-memory.js";
import { replay } from "./scenario-replay.js";
import { CLUSTER_COLUMNS, clusterRows } from "./cluster-report.js";
import { cluster } from "./scenario-cluster.js";
import { MERCURE_COLUMNS, mercureRows, mercureVerdicts } from "./mercure-report.js";
import { mercure } from "./scenario-mercure.js";
import { peers } from "./peers.js";
import { formatPeerTable, peerOtherCpu, peerRows } from "./peers-report.js";
import { killAllNow, onServersChange, startFloor, startOurs, type Target, type TargetName } from "./servers.js";
import { startWorkers, type Worker } from "./workers.js";

const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));

const T0 = performance.now();
/** Section headers carry the elapsed time, so a slow phase is easy to spot. */
const log = (line: string) => console.log(/^\S/.test(line) && line.length > 0 ? `[${((performance.now() - T0) / 1000).toFixed(0).padStart(3)} s] ${line}` : line);

async function main(): Promise<number> {
  const opts = readOptions();
  const t0 = Date.now();
  const cpus = os.cpus();
  const results: Results = {
    startedAt: new Date(t0).toISOString(),
    durationSec: 0,
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? "unknown",
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      kernel: os.release(),
      loadavgAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
    },
    options: opts,
    targets: {},
    memory: {},
    fanout: {},
    ingest: { single: {}, ndjson: {} },
    replay: {},
  };
  log(`Switchboard bench${opts.quick ? " (quick)" : ""}${opts.peers ? " --peers" : ""}: ${results.machine.cpus} × ${results.machine.cpuModel}, ${results.machine.memGiB} GiB, Node ${process.version}`);

  const workers: Worker[] = [];
  let bench: Bench | null = null;
  const targets: Target[] = [];
  const stopAll = async () => {
    await Promise.allSettled(targets.map((t) => t.stop()));
    for (const w of workers) w.stop();
  };
  // Ctrl-C or a kill: stop children before going.
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      log(`\n${sig}: stopping servers and load clients`);
      void stopAll().finally(() => process.exit(130));
    });
  }

  try {
    const subNames = Array.from({ length: opts.clients }, (_, i) => `sub-${i + 1}`);
    const pubNames = Array.from({ length: opts.publishers }, (_, i) => `pub-${i + 1}`);
    // The isolation cases' probe tenant gets a process of its own, apart from the hostile load.
    const probeNames = opts.scenarios.includes("isolation") ? ["probe"] : [];
    workers.push(...(await startWorkers([...subNames, ...pubNames, ...probeNames])));
    // Every worker learns the server pids, so if this process is killed outright they stop the servers.
    onServersChange((pids) => {
      for (const w of workers) w.call({ op: "guard", pids }, 5000).catch(() => {});
    });
    const b: Bench = (bench = {
      opts,
      subs: workers.slice(0, opts.clients),
      pubs: workers.slice(opts.clients, opts.clients + opts.publishers),
      clientPids: workers.map((w) => w.pid),
      log,
      quietBudgetMs: opts.quietBudgetSeconds * 1000,
    });

    const start = (name: TargetName) => (name === "floor" ? startFloor() : startOurs(opts.serverEnv));

    // Memory first, each sample on a freshly started server: later scenarios grow heaps that
    // never shrink back.
    if (opts.scenarios.includes("memory")) results.memory = await memoryRounds(b, opts.targets, start, targets);

    // Memory, Mercure, cluster and isolation start servers of their own; the disk probe needs none.
    const needServers = opts.scenarios.some((sc) => sc !== "memory" && sc !== "disk" && sc !== "mercure" && sc !== "cluster" && sc !== "isolation");
    for (const name of needServers ? opts.targets : []) {
      try {
        const t = await start(name);
        targets.push(t);
        results.targets[name] = { pid: t.pid, port: t.port };
        log(`started ${name}: pid ${t.pid}, port ${t.port}`);
      } catch (err) {
        results.targets[name] = { error: (err as Error).message };
        log(`could not start ${name}: ${(err as Error).message}`);
      }
    }
    if (targets.length === 0 && needServers) throw new Error("no server to measure");

    /** Runs one scenario against every target, recording an error instead of stopping the run. */
    const each = async <T>(scenario: Scenario, title: string, into: PerTarget<T>, fn: (t: Target) => Promise<T>, only?: (t: Target) => boolean) => {
      if (!opts.scenarios.includes(scenario)) return;
      for (const t of targets) {
        if (only && !only(t)) continue;
        log(`${title} — ${t.name}`);
        try {
          const dead = t.exited();
          if (dead) throw new Error(`server ${dead}`);
          into[t.name] = await fn(t);
        } catch (err) {
          into[t.name] = { error: (err as Error).message };
          log(`  error: ${(err as Error).message}`);
        }
      }
    };

    if (opts.scenarios.includes("disk")) {
      // Just before the latency-sensitive runs, and with nothing else of ours running.
      log(`Disk probe: bare SQLite commits (WAL, synchronous=FULL) at ${opts.steadyRate}/s for ${opts.diskSeconds} s`);
      try {
        const d = await probeDisk(opts.diskSeconds, opts.steadyRate);
        results.disk = d;
        log(`  commit p50 ${d.p50Ms.toFixed(2)} ms, p99 ${d.p99Ms.toFixed(1)} ms, max ${d.maxMs.toFixed(0)} ms, ${d.over50ms} of ${d.commits} over 50 ms`);
      } catch (err) {
        results.disk = { error: (err as Error).message };
        log(`  error: ${(err as Error).message}`);
      }
    }
    if (opts.scenarios.includes("fanout")) {
      for (const n of opts.fanoutSizes) {
        log(`Fan-out to ${n} subscribers — ${targets.map((t) => t.name).join(" and ")}, runs alternating`);
        results.fanout[n] = await fanout(b, targets, n);
      }
    }
    for (const mode of ["single", "ndjson"] as const) {
      await each("ingest", `Ingest, ${mode}`, results.ingest[mode], async (t) => {
        const r = await ingest(b, t, mode);
        log(`  ${Math.round(r.eventsPerSec).toLocaleString("en-US")} events/s, server ${r.serverCpuUsPerEvent.toFixed(2)} µs/event, ${r.errors} errors`);
        return r;
      });
    }
    await each("replay", `Catch-up replay, ${opts.replayEvents} events`, results.replay, (t) => replay(b, t), (t) => t.replays);

    // A server of its own, fresh (not grown by ingest), with the others stopped.
    if (opts.scenarios.includes("mercure")) {
      await Promise.allSettled(targets.map((t) => t.stop()));
      targets.length = 0;
      results.mercure = await mercure(b);
    }
    // `--peers`: nothing else runs, and it starts its own servers.
    if (opts.peers) results.peers = await peers(b, targets);

    // Its own servers (PostgreSQL, three nodes, a SQLite node) on cores the others no longer use.
    if (opts.scenarios.includes("cluster")) {
      await Promise.allSettled(targets.map((t) => t.stop()));
      targets.length = 0;
      results.cluster = await cluster(b);
    }

    // Last: it lowers the load clients' CPU priority for good, and each case starts a server of its own.
    if (opts.scenarios.includes("isolation")) {
      await Promise.allSettled(targets.map((t) => t.stop()));
      targets.length = 0;
      if (!opts.targets.includes("ours")) log("Isolation: only Switchboard has tenants to isolate; skipped (targets has no ours)");
      else results.isolation = await isolation(b, workers[workers.length - 1]);
    }
  } finally {
    await stopAll();
    killAllNow();
  }

  results.durationSec = Math.round((Date.now() - t0) / 100) / 10;
  const rows = buildRows(results);
  results.table = rows;
  console.log("");
  if (rows.length) console.log(formatTable(rows) + "\n");
  if (results.peers) {
    const pr = peerRows(results.peers, opts);
    results.peersTable = pr;
    const f = results.peers.frames;
    const frames = opts.peer.memoryOnly ? "" : `; frames of one event: ${(["ours", "nchan", "floor"] as const).map((n) => `${n} ${f[n] ?? "?"} B`).join(", ")}`;
    log(`Beside nchan (issue 13): median (min–max) of ${opts.peer.runs} interleaved run(s) per server${frames}`);
    console.log(formatPeerTable(pr) + "\n");
  }
  if (results.cluster) {
    const cl = clusterRows(results.cluster);
    results.clusterTable = cl;
    log(`Several nodes on PostgreSQL: PostgreSQL figures beside the SQLite node's, same run`);
    console.log(formatTable(cl, CLUSTER_COLUMNS) + "\n");
  }
  if (results.mercure) {
    const me = mercureRows(results.mercure);
    results.mercureTable = me;
    log(`Mercure fan-out beside native streams: one server, each path on a tenant of its own, runs alternating`);
    console.log(formatTable(me, MERCURE_COLUMNS) + "\n");
    for (const line of mercureVerdicts(results.mercure)) console.log(line);
    console.log("");
  }
  if (results.isolation) {
    const iso = isolationRows(results.isolation);
    results.isolationTable = iso;
    log(`Isolation: the probe tenant beside a hostile client of "demo"; each case on a fresh server, quiet baseline then load${opts.iso.repeats > 1 ? `, median of ${opts.iso.repeats}` : ""}`);
    console.log(formatIsolationTable(iso));
    console.log(["", "Notes:", ...isolationNotes(results.isolation), ""].join("\n"));
  }
  const other = otherCpuOf(results);
  results.otherCpuPctMedian = other;
  if (Number.isFinite(other)) {
    log(`Other processes on the machine used a median ${other.toFixed(0)}% of one core during the measured windows${other > 25 ? " — a busy neighbour; absolute figures are depressed, ratios less so" : ""}.`);
  }
  const waited = opts.quietBudgetSeconds - (bench?.quietBudgetMs ?? opts.quietBudgetSeconds * 1000) / 1000;
  if (waited > 1) log(`Waited ${waited.toFixed(1)} s in total for the machine to quieten between windows.`);
  log(`Total run time ${results.durationSec} s. CPU figures are from /proc/<pid>/stat of each process; ratios are ours ÷ ${opts.peers ? "the server each row names" : "floor"} from this run.`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}latest.json`;
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  log(`Results written to bench/results/latest.json`);
  return 0;
}

/** Median CPU share of processes other than the server and our clients, over every measured window. */
function otherCpuOf(res: Results): number {
  const v: number[] = [];
  for (const per of Object.values(res.fanout))
    for (const r of Object.values(per)) if (r && !("error" in r)) for (const run of [...r.steadyRuns, ...r.burstRuns]) v.push(run.otherCpuPct);
  for (const per of Object.values(res.ingest)) for (const r of Object.values(per)) if (r && !("error" in r)) v.push(r.otherCpuPct);
  for (const r of Object.values(res.cluster?.ingest ?? {})) if (r && !("error" in r)) v.push(r.otherCpuPct);
  for (const cmp of Object.values(res.mercure?.sizes ?? {}))
    if (!("error" in cmp)) for (const p of Object.values(cmp.paths)) if (p && !("error" in p)) for (const run of p.runs) v.push(run.otherCpuPct);
  for (const fanout of [res.cluster?.fanout, res.cluster?.fanoutPerNode]) {
    if (!fanout || "error" in fanout) continue;
    for (const side of [fanout.sqlite, fanout.postgres]) if (!("error" in side)) for (const run of side.runs) v.push(run.otherCpuPct);
  }
  if (res.peers) v.push(...peerOtherCpu(res.peers));
  v.sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : NaN;
}

// Last resort: whatever path the process leaves by, no server stays behind.
process.on("exit", killAllNow);

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? String(err));
    killAllNow();
    process.exit(1);
  },
);
