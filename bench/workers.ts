/**
 * Forks load-client workers and calls them. Every call is bounded by a
 * timeout, so a wedged worker fails the scenario instead of hanging the run.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Command, Reply } from "./protocol.js";

const WORKER_FILE = fileURLToPath(new URL("./load-client.ts", import.meta.url));

export class Worker {
  readonly child: ChildProcess;
  readonly name: string;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  #exited: string | null = null;

  constructor(name: string) {
    this.name = name;
    // tsx as a loader in the same process (not the tsx CLI, which would add a parent process).
    this.child = fork(WORKER_FILE, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.child.on("message", (msg: Reply) => {
      const p = this.#pending.get(msg.reqId);
      if (!p) return;
      this.#pending.delete(msg.reqId);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`${this.name}: ${msg.error}`));
    });
    this.child.on("exit", (code, signal) => {
      this.#exited = `${this.name} exited (code ${code}, signal ${signal})`;
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(this.#exited));
      }
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  call<T>(cmd: Command, timeoutMs: number): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(this.#exited));
    const reqId = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(reqId);
        reject(new Error(`${this.name}: ${cmd.op} got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(reqId, { resolve: resolve as (v: unknown) => void, reject, timer });
      // With a callback, a closed channel is reported here instead of as an 'error' event nobody handles.
      const fail = (err: Error) => {
        clearTimeout(timer);
        this.#pending.delete(reqId);
        reject(new Error(`${this.name}: ${err.message}`));
      };
      if (!this.child.connected) return fail(new Error("IPC channel closed"));
      this.child.send({ ...cmd, reqId }, (err) => {
        if (err) fail(err);
      });
    });
  }

  /** Resolves once the worker answers a no-op, i.e. its module has loaded and it listens. */
  async ready(): Promise<void> {
    const deadline = Date.now() + 30_000;
    // A message sent before the worker attached its listener is dropped, so ask until it answers.
    for (;;) {
      try {
        await this.call({ op: "reset" }, 1000);
        return;
      } catch (err) {
        if (this.#exited || Date.now() > deadline) throw err;
      }
    }
  }

  stop(): void {
    if (this.#exited) return;
    this.child.kill("SIGKILL");
  }
}

export async function startWorkers(names: readonly string[]): Promise<Worker[]> {
  const workers = names.map((n) => new Worker(n));
  try {
    await Promise.all(workers.map((w) => w.ready()));
  } catch (err) {
    for (const w of workers) w.stop();
    throw err;
  }
  return workers;
}
