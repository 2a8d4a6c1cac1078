/**
 * Reads a process's own accounting from /proc, so every figure about the
 * server comes from the kernel, not from anything the server reports about
 * itself. Linux only, which is what the bench runs on.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
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

/** User + system CPU time of the whole process (all threads), in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Field 14 is utime and 15 is stime; fields[0] here is field 3 (state).
  const ticks = Number(fields[11]) + Number(fields[12]);
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

export interface CpuSample {
  wallMs: number;
  serverUs: number;
  clientUs: number;
  /** 0..1: share of all cores busy (anyone's) during the window. */
  machineBusy: number;
  /** CPU µs used by other processes (machine busy time minus server and clients); tick-granular, so approximate. */
  otherUs: number;
}
