import { spawn, type ChildProcess } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the child runs `node dist/main.js` from there (built before the tests, test/support/build-global.ts). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Switchboard running as a real process (`npm start` without npm), for what
 * an in-process server cannot show: SIGKILL, SIGTERM, exit codes, and what
 * it prints. Only the given variables (plus PATH and HOME) reach the child,
 * so the test's own environment cannot change its configuration.
 */
export class ChildServer {
  stdout = "";
  stderr = "";
  /** Resolves once the process has exited (with its code or signal). */
  readonly exited: Promise<ChildExit>;
  readonly #child: ChildProcess;
  #exit: ChildExit | null = null;

  private constructor(env: Record<string, string>) {
    this.#child = spawn(process.execPath, ["--enable-source-maps", "dist/main.js"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child.stdout!.setEncoding("utf8").on("data", (s: string) => (this.stdout += s));
    this.#child.stderr!.setEncoding("utf8").on("data", (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve) => {
      // "close" rather than "exit": every byte it printed has been read by then.
      this.#child.once("close", (code, signal) => resolve((this.#exit = { code, signal })));
    });
  }

  /** Starts a child server; `start` then waits for it to listen. */
  static spawn(env: Record<string, string>): ChildServer {
    return new ChildServer(env);
  }

  /**
   * Starts a child server and resolves with it once its "switchboard
   * listening" log line is out; rejects (with what it printed) if it exits first.
   */
  static async start(env: Record<string, string>, timeoutMs = 60_000): Promise<ChildServer & { url: string }> {
    const child = new ChildServer(env);
    await child.waitForLog((l) => l.msg === "switchboard listening", timeoutMs);
    return child as ChildServer & { url: string };
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** The URL from the "switchboard listening" line. */
  get url(): string | undefined {
    return this.logLines().find((l) => l.msg === "switchboard listening")?.url as string | undefined;
  }

  /** The JSON log lines printed on stderr so far (other lines skipped). */
  logLines(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of this.stderr.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // a line still being written
      }
    }
    return out;
  }

  /** Resolves with the first log line matching `predicate`; rejects if the process exits or time runs out. */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.logLines().find(predicate);
        if (line) {
          done();
          resolve(line);
        } else if (this.#exit) {
          done();
          reject(new Error(`server exited (${JSON.stringify(this.#exit)}) before the expected log line; stderr:\n${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for a log line; stderr:\n${this.stderr}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#child.stderr!.off("data", check);
        this.#child.off("close", check);
      };
      this.#child.stderr!.on("data", check);
      this.#child.once("close", check);
      check();
    });
  }

  /** Resolves once stdout matches `pattern`; rejects if the process exits or time runs out. */
  async waitForStdout(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.stdout);
      if (m) return m;
      if (this.#exit) throw new Error(`server exited (${JSON.stringify(this.#exit)}) without printing ${pattern}; stdout:\n${this.stdout}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} on stdout:\n${this.stdout}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#exit === null) this.#child.kill(signal);
  }

  /** SIGKILL if still running, and wait for the exit: for afterEach/afterAll. */
  async dispose(): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
  }
}

/** Runs a child server that is expected to exit on its own (bad configuration…); resolves with its exit and output. */
export async function runToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<ChildExit & { stdout: string; stderr: string }> {
  const child = ChildServer.spawn(env);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const exit = await child.exited;
  clearTimeout(timer);
  return { ...exit, stdout: child.stdout, stderr: child.stderr };
}
