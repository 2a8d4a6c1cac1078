import { readdirSync, readFileSync } from "node:fs";

/** One process, as /proc names it: its pid and its start time (which tells it from a later process given the same pid). */
export interface ProcessId {
  pid: number;
  startTime: string;
}

/** /proc/<pid>/stat's fields after the command name (which may hold spaces): [0] is the state, [1] the ppid, [19] the start time. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null; // gone
  }
}

/** The processes whose parent is `parent`, now. */
export function childrenOf(parent: number): ProcessId[] {
  const out: ProcessId[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === parent) out.push({ pid: Number(entry), startTime: fields[19] });
  }
  return out;
}

/** Whether the process still runs: same pid, same start time, and not a zombie waiting to be reaped (it has exited). */
export function running(p: ProcessId): boolean {
  const fields = statFields(p.pid);
  return fields !== null && fields[19] === p.startTime && fields[0] !== "Z";
}

/** The process's command line, its arguments joined by spaces ("" once it is gone). */
export function commandLine(p: ProcessId): string {
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** SIGKILLs the process if it still runs: for cleaning up after a failed test. */
export function killIfRunning(p: ProcessId): void {
  if (!running(p)) return;
  try {
    process.kill(p.pid, "SIGKILL");
  } catch {
    // gone meanwhile
  }
}
