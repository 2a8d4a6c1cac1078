import { execFile, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { tenantKey } from "./support/tenants.js";

/**
 * Every curl recipe in the README works as printed: each fenced `sh` block
 * that calls curl is split into its commands, and each runs in order with
 * the real `curl`, against a real server on a new database, with `$SB`,
 * `$KEY` and `$ADMIN_KEY` set as the README's first block says. A command
 * must succeed (2xx), or end as the outcome printed under it says: the same
 * fields, or the same error code. A stream (`curl -N`) must open with its
 * first frame, then it is stopped.
 */

const README = readFileSync(join(import.meta.dirname, "../README.md"), "utf8");

interface Recipe {
  command: string;
  /** The `# {…}` line printed under it, if any. */
  outcome: string | null;
}

/** The fenced code blocks of a Markdown text, with their language. */
function fencedBlocks(markdown: string): { lang: string; body: string }[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], body: m[2] }));
}

/** A block's commands: lines continued by a trailing `\` or `|` joined, each followed by its printed outcome. */
function commandsOf(block: string): Recipe[] {
  const recipes: Recipe[] = [];
  let pending = "";
  for (const line of block.split("\n")) {
    if (pending === "" && line.startsWith("#")) {
      const last = recipes.at(-1);
      if (last && last.outcome === null && line.startsWith("# {")) last.outcome = line.slice(2);
      continue;
    }
    if (line.trim() === "") continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1);
      continue;
    }
    if (line.endsWith("|")) {
      pending += line + " ";
      continue;
    }
    recipes.push({ command: pending + line, outcome: null });
    pending = "";
  }
  expect(pending, "a command continued past the end of its block").toBe("");
  return recipes;
}

/** The field names at the top level of a printed JSON object (which may hold `…` for what is left out). */
function topFields(printed: string): string[] {
  const names: string[] = [];
  let depth = 0;
  for (let i = printed.indexOf("{"); i >= 0 && i < printed.length; i++) {
    const ch = printed[i];
    if (ch === '"') {
      let end = i + 1;
      while (printed[end] !== '"') end += printed[end] === "\\" ? 2 : 1;
      if (depth === 1 && printed[end + 1] === ":") names.push(printed.slice(i + 1, end));
      i = end;
    } else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") {
      depth--;
      if (depth === 0) break;
    }
  }
  return names.sort();
}

const shell = fencedBlocks(README).filter((b) => b.lang === "sh");
const variables = shell.find((b) => b.body.startsWith("export SB="));
const recipes = shell.filter((b) => /\bcurl\b/.test(b.body)).flatMap((b) => commandsOf(b.body));

describe("the README's curl recipes", () => {
  let server: TestServer;
  let bin: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = await startTestServer();
    // curl as the recipes call it, quiet about progress, with the status after the body so the test can read it.
    bin = mkdtempSync(join(tmpdir(), "switchboard-curl-"));
    const curl = execFileSync("sh", ["-c", "command -v curl"], { encoding: "utf8" }).trim();
    writeFileSync(join(bin, "curl"), `#!/bin/sh\nexec ${curl} -sS -w '\\n%{http_code}\\n' "$@"\n`);
    chmodSync(join(bin, "curl"), 0o755);
    const key = (await tenantKey(server, "demo", ["read", "publish", "control", "work"])).secret;
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, SB: server.url, KEY: key, ADMIN_KEY };
  });
  afterAll(async () => {
    await server?.dispose();
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  it("are all in fenced blocks, after the block that names their variables", () => {
    expect(variables?.body).toMatch(/^export SB=\S+ KEY=.+ ADMIN_KEY=.+\n$/);
    expect([...variables!.body.matchAll(/(\w+)=/g)].map((m) => m[1])).toEqual(["SB", "KEY", "ADMIN_KEY"]);
    expect(README.indexOf(variables!.body)).toBeLessThan(README.indexOf("```sh\ncurl"));
    // A recipe in running text (a curl with an address, not a mention of `curl -N`) would escape this test.
    const prose = README.replace(/^```[\s\S]*?^```$/gm, "");
    expect(prose).not.toMatch(/`curl [^`]*(\$SB|https?:)[^`]*`/);
    expect(recipes.length).toBeGreaterThanOrEqual(15);
    expect(recipes.filter((r) => /\bcurl -N\b/.test(r.command)).length).toBeGreaterThanOrEqual(5);
  });

  it("work as printed, in order", async () => {
    for (const { command, outcome } of recipes) {
      if (/\bcurl -N\b/.test(command)) {
        const first = await firstFrame(command, env);
        expect(first, command).toMatch(/^retry: \d+\n/);
        continue;
      }
      const { stdout, stderr } = await promisify(execFile)("bash", ["-c", command], { env, encoding: "utf8" });
      expect(stderr, command).toBe("");
      const lines = stdout.trimEnd().split("\n");
      const status = Number(lines.pop());
      const body = lines.join("\n");
      const error = outcome && /"error":"([a-z_]+)"/.exec(outcome)?.[1];
      if (error) {
        expect(status, `${command}\n${body}`).toBeGreaterThanOrEqual(400);
        expect(JSON.parse(body).error, command).toBe(error);
      } else {
        expect(status, `${command}\n${body}`).toBeGreaterThanOrEqual(200);
        expect(status, `${command}\n${body}`).toBeLessThan(300);
        if (outcome) expect(Object.keys(JSON.parse(body)).sort(), `${command}\n${body}`).toEqual(topFields(outcome));
      }
    }
  });
});

/** Runs a streaming recipe until its first frame has arrived, then stops it; resolves with what it printed. */
function firstFrame(command: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    // In a process group of its own, so that stopping it stops curl too.
    const child = spawn("bash", ["-c", `exec ${command}`], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("\n\n")) process.kill(-child.pid!, "SIGTERM");
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.once("error", reject);
    child.once("exit", () => (out.includes("\n\n") ? resolve(out) : reject(new Error(`${command} ended before its first frame: ${out}${err}`))));
  });
}
