import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { childrenOf, commandLine, killIfRunning, running, type ProcessId } from "./support/processes.js";

/**
 * `npm run demo` leaves nothing behind: whatever kills the demo — SIGKILL
 * of the orchestrator alone, or of its whole process group — its server and
 * producers end with it, and none of them carries the demo's admin key on
 * its command line (which any user of the machine can read in /proc).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const LOGIN = /\/login#key=(\S+)/;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

interface Demo {
  process: ChildProcess;
  output: () => string;
  key: string;
  /** The server and every producer, as they ran once the demo printed its login link. */
  children: ProcessId[];
  /** The demo's temporary folder (it cannot remove it itself when it is SIGKILLed). */
  folder: string;
}

const started: Demo[] = [];

afterEach(() => {
  // A failed run must not leave the processes this test is about on the machine.
  for (const demo of started.splice(0)) {
    for (const p of demo.children) killIfRunning(p);
    if (demo.process.exitCode === null && demo.process.signalCode === null) demo.process.kill("SIGKILL");
    rmSync(demo.folder, { recursive: true, force: true });
  }
});

/** Starts the demo (compiled, as `npm run demo` runs it; built before the tests) in a process group of its own, and waits for its login link. */
async function startDemo(): Promise<Demo> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--enable-source-maps", "dist/demo.js", "--port", String(port), "--speed", "20", "--duration", "600"], {
    cwd: ROOT,
    // A silent server writes nothing, so it cannot die of writing into the dead demo's pipes:
    // what ends it must be the demo's own end.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // the demo leads its own process group, so the test can kill that group and nothing else
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
  const demo: Demo = { process: child, output: () => output, key: "", children: [], folder: "" };
  started.push(demo);

  await expect.poll(() => LOGIN.test(output) || child.exitCode !== null, { timeout: 45_000, interval: 100 }).toBe(true);
  const login = LOGIN.exec(output);
  expect(login, `the demo exited before printing its login link:\n${output}`).not.toBeNull();
  demo.key = decodeURIComponent(login![1]);
  demo.folder = dirname(/fresh database \((\S+)\)/.exec(output)![1]);
  // The login link is printed once the server and the five producers have been started.
  demo.children = childrenOf(child.pid!);
  return demo;
}

describe("npm run demo leaves no process behind", () => {
  for (const target of ["the orchestrator", "its whole process group"] as const) {
    it(`ends the server and every producer when ${target} is SIGKILLed`, async () => {
      const demo = await startDemo();
      const lines = demo.children.map(commandLine);
      expect(lines.filter((l) => /\bmain\.[jt]s\b/.test(l)), lines.join("\n")).toHaveLength(1);
      expect(lines.filter((l) => /\bproducers\//.test(l)), lines.join("\n")).toHaveLength(5);
      for (const line of lines) expect.soft(line, "a child's command line carries the admin key").not.toContain(demo.key);

      process.kill(target === "the orchestrator" ? demo.process.pid! : -demo.process.pid!, "SIGKILL");

      await expect
        .poll(() => demo.children.filter(running).map(commandLine), { timeout: 45_000, interval: 200 })
        .toEqual([]);
    }, 120_000);
  }
});
