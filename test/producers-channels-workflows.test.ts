import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { walkHistory, type EventJson } from "./support/history-pages.js";
import { ADMIN_KEY, api, startTestServer, type TestServer } from "./support/server.js";

/**
 * The channel connector and the workflow runner, run as the programs they
 * are (child processes, public API only) against a real server, at speed 20.
 * Everything is checked through the API: state endpoints and the log.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const T = "/api/v1/tenants/demo";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

class Producer {
  output = "";
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  constructor(name: string, url: string, args: string[]) {
    this.#child = spawn(process.execPath, ["--enable-source-maps", `dist/producers/${name}.js`, "--url", url, "--key", ADMIN_KEY, "--speed", "20", ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child.stdout!.setEncoding("utf8").on("data", (s: string) => (this.output += s));
    this.#child.stderr!.setEncoding("utf8").on("data", (s: string) => (this.output += s));
    this.exited = new Promise((r) => this.#child.once("close", (code) => r(code)));
  }
  async stop(): Promise<number | null> {
    this.#child.kill("SIGTERM");
    return this.exited;
  }
}

/** Polls `probe` until it returns a value (not undefined); fails with `what` after `ms`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function getJson(server: { url: string }, path: string): Promise<any> {
  // A GET is safe to repeat: after a restart, a pooled connection to the old server may fail once.
  const res = await api(server, path).catch(() => api(server, path));
  expect(res.status, path).toBe(200);
  return res.json();
}

async function postJson(server: { url: string }, path: string, body?: unknown): Promise<any> {
  const res = await api(server, path, {
    method: "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  expect(res.status, `${path}: ${JSON.stringify(json)}`).toBe(201);
  return json;
}

/** For each command in the log, the events of its subject up to the next command for that subject. */
function answers(events: EventJson[], type: string): { command: EventJson; after: EventJson[] }[] {
  const out: { command: EventJson; after: EventJson[] }[] = [];
  for (const [i, e] of events.entries()) {
    if (e.type !== type) continue;
    const after: EventJson[] = [];
    for (const f of events.slice(i + 1)) {
      if (f.subject !== e.subject) continue;
      if (f.type.endsWith("_requested")) break;
      after.push(f);
    }
    out.push({ command: e, after });
  }
  return out;
}

let dir: string | undefined;
let server: TestServer | undefined;
const producers: Producer[] = [];

afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.stop()));
  await server?.dispose();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A server on a fixed port and directory, so it can be restarted where the producers expect it. */
async function start(port: number): Promise<TestServer> {
  dir ??= mkdtempSync(join(tmpdir(), "switchboard-producers-"));
  return (server = await startTestServer({ PORT: String(port) }, dir));
}

async function restart(port: number): Promise<TestServer> {
  await server!.close();
  // Let this process see the old server's connections close, so no request goes out on one of them.
  await new Promise((r) => setTimeout(r, 100));
  const s = await start(port);
  await getJson(s, "/healthz");
  return s;
}

describe("channel connector", () => {
  it("answers connects with steps then connected or failed, reports messages, disconnects, and survives a server restart without repeating a command", async () => {
    const port = await freePort();
    let s = await start(port);
    const connector = new Producer("channel-connector", s.url, ["--seed", "false"]);
    producers.push(connector);
    await until("the connector's presence", async () => ((await getJson(s, `${T}/agents`)).agents.some((a: any) => a.agent_id === "connector-1" && a.connected) ? true : undefined));

    const platforms = ["whatsapp", "telegram", "slack", "sms", "email"];
    const ids: string[] = [];
    for (const platform of platforms) ids.push((await postJson(s, `${T}/channels`, { platform, name: `Test ${platform}` })).channel);

    const settled = async () => {
      const { channels } = await getJson(s, `${T}/channels`);
      const mine = channels.filter((c: any) => ids.includes(c.channel_id));
      return mine.length === ids.length && mine.every((c: any) => c.state === "connected" || c.state === "failed") ? mine : undefined;
    };
    const channels = await until("every connect to settle", settled);
    for (const c of channels) {
      expect(c.worker).toBe("connector-1");
      expect(c.step).toBeGreaterThanOrEqual(1);
      if (c.state === "failed") expect(c.reason).toEqual(expect.any(String));
      else expect(c.step).toBe(c.total);
    }
    const connected = channels.filter((c: any) => c.state === "connected");
    expect(connected.length).toBeGreaterThan(0);

    // Connected channels report their messages.
    const message = await until("a message on a connected channel", async () => {
      const { events } = await getJson(s, `${T}/events?types=activity.message&limit=1000`);
      return events.find((e: EventJson) => connected.some((c: any) => c.channel_id === e.data.channel));
    });
    expect(message.data).toMatchObject({ platform: expect.any(String), direction: expect.stringMatching(/^(in|out)$/), preview: expect.any(String) });

    // A disconnect is answered.
    const first = connected[0].channel_id;
    await postJson(s, `${T}/channels/${first}/disconnect`);
    await until("the disconnect", async () => ((await getJson(s, `${T}/channels/${first}`)).channel.state === "disconnected" ? true : undefined));

    // A restart: commands sent right after it (before the connector is back) are handled, once.
    s = await restart(port);
    const late = (await postJson(s, `${T}/channels`, { platform: "telegram", name: "After the restart" })).channel;
    const second = connected[1]?.channel_id;
    if (second) await postJson(s, `${T}/channels/${second}/disconnect`);
    await until("the connect sent after the restart to settle", async () =>
      ["connected", "failed"].includes((await getJson(s, `${T}/channels/${late}`)).channel.state) ? true : undefined,
    );
    if (second) await until("the disconnect sent after the restart", async () => ((await getJson(s, `${T}/channels/${second}`)).channel.state === "disconnected" ? true : undefined));

    // Through the log: every command answered exactly once, no step twice.
    const events = await walkHistory(s, "demo");
    for (const { command, after } of answers(events, "channel.connect_requested")) {
      const steps = after.filter((e) => e.type === "channel.progress").map((e) => e.data.step);
      expect(new Set(steps).size, `steps of ${command.subject}`).toBe(steps.length);
      expect(after.filter((e) => e.type === "channel.connected" || e.type === "channel.failed"), `outcome of ${command.subject}`).toHaveLength(1);
    }
    for (const { command, after } of answers(events, "channel.disconnect_requested")) {
      expect(after.filter((e) => e.type === "channel.disconnected"), `disconnect of ${command.subject}`).toHaveLength(1);
    }
    expect(await connector.stop()).toBe(0);
  });
});

describe("workflow runner", () => {
  it("runs workflows, obeys pause, resume and cancel, and survives a server restart without repeating or missing a control", async () => {
    const port = await freePort();
    let s = await start(port);
    const runner = new Producer("workflow-runner", s.url, ["--max", "2"]);
    producers.push(runner);

    const running = () =>
      until("a running workflow", async () => (await getJson(s, `${T}/workflows?state=running`)).workflows.find((w: any) => w.worker === "runner-1" && w.progress < 0.5 && w.pending_action === null));
    const inState = (id: string, state: string) =>
      until(`${id} to be ${state}`, async () => {
        const { workflow } = await getJson(s, `${T}/workflows/${id}`);
        return workflow.state === state && workflow.pending_action === null ? workflow : undefined;
      });

    const settle = (id: string) =>
      until(`the control of ${id} to be answered`, async () => {
        const { workflow } = await getJson(s, `${T}/workflows/${id}`);
        return workflow.pending_action === null ? workflow : undefined;
      });
    /** Sends `action` to running workflows until one is confirmed (one may finish before the control lands). */
    const controlSome = async (action: string, state: string) => {
      for (;;) {
        const wf = await running();
        const res = await api(s, `${T}/workflows/${wf.workflow_id}/${action}`, { method: "POST" });
        if (res.status !== 201) continue; // it finished in the meantime
        const settled = await settle(wf.workflow_id);
        if (settled.state === state) return settled;
        expect(settled.state).toMatch(/^(completed|failed)$/);
      }
    };

    const paused = await controlSome("pause", "paused");
    const id = paused.workflow_id;
    // It stays paused: the runner does not progress it (checked after the restart, through the log).

    // A restart; then a control sent at once (before the runner is back) is still delivered, once.
    s = await restart(port);
    expect((await getJson(s, `${T}/workflows/${id}`)).workflow.state).toBe("paused");
    await postJson(s, `${T}/workflows/${id}/resume`);
    expect((await settle(id)).state).toMatch(/^(running|completed|failed)$/);
    await controlSome("cancel", "cancelled");

    // Workflows keep running to an end.
    await until("a finished workflow", async () => (await getJson(s, `${T}/workflows`)).workflows.find((w: any) => w.state === "completed" || w.state === "failed"));

    // Through the log: every control answered at most once, and only expired or moot ones left unanswered.
    const events = await walkHistory(s, "demo");
    const confirms: Record<string, string> = { pause: "workflow.paused", resume: "workflow.resumed", cancel: "workflow.cancelled" };
    for (const { command, after } of answers(events, "workflow.control_requested")) {
      const confirmations = after.filter((e) => e.type === confirms[command.data.action as string]);
      expect(confirmations.length, `answers to control ${command.id}`).toBeLessThanOrEqual(1);
      if (confirmations.length === 0) {
        // Moot: the workflow finished (completed or failed) before the runner saw it. Never expired for want of an answer.
        expect(after.some((e) => e.type === "workflow.completed" || e.type === "workflow.failed"), `control ${command.id} unanswered`).toBe(true);
      }
    }
    // Nothing moved the paused workflow between its pause and its resume.
    const pausedAt = events.findIndex((e) => e.subject === id && e.type === "workflow.paused");
    const resumedAt = events.findIndex((e) => e.subject === id && e.type === "workflow.resumed");
    expect(resumedAt).toBeGreaterThan(pausedAt);
    expect(events.slice(pausedAt + 1, resumedAt).filter((e) => e.subject === id && e.type === "workflow.progress")).toEqual([]);
    // A workflow's progress never repeats a step (a key per step).
    for (const wf of new Set(events.filter((e) => e.type === "workflow.started").map((e) => e.subject))) {
      const ticks = events.filter((e) => e.subject === wf && e.type === "workflow.progress").map((e) => JSON.stringify(e.data));
      expect(new Set(ticks).size, `progress of ${wf}`).toBe(ticks.length);
    }
    expect(await runner.stop()).toBe(0);
  });
});
