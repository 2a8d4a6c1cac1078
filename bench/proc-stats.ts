/**
 * Reads a process's own accounting from /proc, so every figure about the
 * server comes from the kernel, not from anything the server reports about
 * itself. Linux only, which is what the bench runs on.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";

/** Clock ticks per second for utime/stime; 100 on every common kernel, asked once. */
const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** /proc/<pid>/stat's fields after the command name; [0] is field 3 (state), [1] the ppid. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** User + system CPU time of the whole process (all threads), in microseconds. */
export function cpuMicros(pid: number): number {
  const fields = statFields(pid);
  // Field 14 is utime and 15 is stime.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / CLK_TCK;
}

/**
 * CPU time of a process and its children, in microseconds: theirs while
 * they run, and what the parent has reaped of those that ended (cutime and
 * cstime, fields 16 and 17). A child that starts and ends inside a window
 * is counted; nothing is counted twice. For a server that forks a process
 * per connection (PostgreSQL).
 */
export function treeCpuMicros(pid: number): number {
  const all = (fields: string[]) => Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  let ticks = all(statFields(pid));
  const parent = String(pid);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(Number(entry));
      if (fields[1] === parent) ticks += all(fields);
    } catch {
      // gone meanwhile: its time is now in the parent's cutime, or will be at the next reading
    }
  }
  return (ticks * 1e6) / CLK_TCK;
}

/** Resident set size in bytes, from VmRSS. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "latin1");
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Sum of CPU time over several processes; a process that has exited counts as 0. */
export function cpuMicrosOf(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += cpuMicros(pid);
    } catch {
      // gone: its last figures are lost, which the caller notices as a short total
    }
  }
  return total;
}

/** Busy and total jiffies of the whole machine, to show what else was using the cores. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "latin1").split("\n", 1)[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** A window over which the CPU of the server, the load clients and the machine is measured. */
export class CpuWindow {
  readonly #serverPid: number;
  readonly #clientPids: readonly number[];
  #t0 = 0;
  #server0 = 0;
  #clients0 = 0;
  #machine0 = machineTicks();

  constructor(serverPid: number, clientPids: readonly number[]) {
    this.#serverPid = serverPid;
    this.#clientPids = clientPids;
  }

  start(): void {
    this.#machine0 = machineTicks();
    this.#server0 = cpuMicros(this.#serverPid);
    this.#clients0 = cpuMicrosOf(this.#clientPids);
    this.#t0 = performance.now();
  }

  /** CPU used since start(): server and clients in µs, and the machine's busy share of its cores. */
  stop(): CpuSample {
    const wallMs = performance.now() - this.#t0;
    const serverUs = cpuMicros(this.#serverPid) - this.#server0;
    const clientUs = cpuMicrosOf(this.#clientPids) - this.#clients0;
    const m = machineTicks();
    const busy = m.total > this.#machine0.total ? (m.busy - this.#machine0.busy) / (m.total - this.#machine0.total) : 0;
    // Whatever the cores did that was neither the server nor our clients: other tenants of a shared machine.
    const otherUs = Math.max(0, busy * os.cpus().length * wallMs * 1000 - serverUs - clientUs);
    return { wallMs, serverUs, clientUs, machineBusy: busy, otherUs };
  }
}

/**
 * Like CpuWindow, for several servers at once (the nodes of a cluster and
 * their database): each source's CPU is reported apart, and "other" is
 * what none of them nor the load clients used.
 */
export class CpuWindows<K extends string> {
  readonly #sources: Record<K, () => number>;
  readonly #clientPids: readonly number[];
  #t0 = 0;
  #start = {} as Record<K, number>;
  #clients0 = 0;
  #machine0 = machineTicks();

  /** `sources`: a CPU reading in µs for each name (cpuMicros or treeCpuMicros of a pid). */
  constructor(sources: Record<K, () => number>, clientPids: readonly number[]) {
    this.#sources = sources;
    this.#clientPids = clientPids;
  }

  start(): void {
    this.#machine0 = machineTicks();
    for (const k of Object.keys(this.#sources) as K[]) this.#start[k] = this.#sources[k]();
    this.#clients0 = cpuMicrosOf(this.#clientPids);
    this.#t0 = performance.now();
  }

  stop(): { wallMs: number; us: Record<K, number>; clientUs: number; machineBusy: number; otherUs: number } {
    const wallMs = performance.now() - this.#t0;
    const us = {} as Record<K, number>;
    for (const k of Object.keys(this.#sources) as K[]) us[k] = this.#sources[k]() - this.#start[k];
    const clientUs = cpuMicrosOf(this.#clientPids) - this.#clients0;
    const m = machineTicks();
    const busy = m.total > this.#machine0.total ? (m.busy - this.#machine0.busy) / (m.total - this.#machine0.total) : 0;
    const serversUs = Object.values<number>(us).reduce((a, b) => a + b, 0);
    const otherUs = Math.max(0, busy * os.cpus().length * wallMs * 1000 - serversUs - clientUs);
    return { wallMs, us, clientUs, machineBusy: busy, otherUs };
  }
}

export interface CpuSample {
  wallMs: number;
  serverUs: number;
  clientUs: number;
  /** 0..1: share of all cores busy (anyone's) during the window. */
  machineBusy: number;
  /** CPU µs used by other processes (machine busy time minus server and clients); tick-granular, so approximate. */
  otherUs: number;
}
