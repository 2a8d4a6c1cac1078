import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `npm run demo` end to end: the demo (server + every producer) runs as a
 * real child process for a bounded time; the test drives it the way a
 * newcomer would — the printed login link, the console's forms — and checks
 * through the public API that every domain saw traffic and that the
 * commands sent from the console were executed by the producers. Then
 * Ctrl-C (SIGINT) must stop everything cleanly.
 *
 * Waits are bounded polls: they guard against a hang, they do not measure time.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TENANT = "demo";

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

type Json = Record<string, any>;

describe("npm run demo", () => {
  let child: ChildProcess;
  let output = "";
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let exited = false;
  let url: string;
  let key: string;
  let console_: { cookie: string; csrf: string };

  /** Polls `probe` until it returns something other than undefined/false; fails with `what` (and the demo's last lines) after `ms`. */
  async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000, every = 150): Promise<T> {
    const deadline = Date.now() + ms;
    let last: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined && value !== false) return value as T;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) {
        const tail = output.split("\n").slice(-40).join("\n");
        throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}\n--- the demo's last lines ---\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, every));
    }
  }

  const api = async (path: string): Promise<Json> => {
    const res = await fetch(`${url}/api/v1/tenants/${TENANT}${path}`, { headers: { authorization: `Bearer ${key}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Json;
  };
  /** A console form post (no JavaScript: answered with a 303 or an error page). */
  const form = (path: string, fields: Record<string, string>) =>
    fetch(url + path, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: url, cookie: console_.cookie },
      body: new URLSearchParams({ _csrf: console_.csrf, ...fields }),
    });
  /** The events of the given types (about `subject`) from the history, page by page up to the head; `first`: stop at the first match. */
  const history = async (types: string, subject?: string, first = false): Promise<Json[]> => {
    const filter = `types=${encodeURIComponent(types)}${subject ? `&subject=${encodeURIComponent(subject)}` : ""}`;
    const events: Json[] = [];
    for (let after = 0; ; ) {
      const page = await api(`/events?after=${after}&limit=1000&${filter}`);
      events.push(...page.events);
      if ((first && events.length > 0) || page.next >= page.head || page.next === after) return events;
      after = page.next;
    }
  };

  beforeAll(async () => {
    const port = await freePort();
    child = spawn(process.execPath, ["--enable-source-maps", "dist/demo.js", "--port", String(port), "--speed", "20", "--duration", "60"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
    child.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
    exit = new Promise((r) => child.once("close", (code, signal) => ((exited = true), r({ code, signal }))));

    const login = await until("the login link on the demo's output", () => {
      if (exited) throw new Error(`the demo exited early:\n${output}`);
      return /(http:\/\/[^\s/]+)\/login#key=([^\s]+)/.exec(output) ?? undefined;
    }, 30_000);
    url = login[1];
    key = decodeURIComponent(login[2]);
    expect(url).toBe(`http://localhost:${port}`);
    await until("healthz", async () => (await fetch(`${url}/healthz`)).ok, 30_000);

    // Sign in as the printed link does (its page posts the key in the form's `key` field).
    const signIn = await fetch(`${url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: url },
      body: new URLSearchParams({ key }),
    });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get("set-cookie")!.split(";")[0];
    const page = await (await fetch(`${url}/t/${TENANT}`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
    expect(csrf, "the console page has a CSRF token").toBeTruthy();
    console_ = { cookie, csrf: csrf! };
  }, 45_000);

  afterAll(async () => {
    // A failed run: ask the demo to stop (it stops the server and producers it started), then insist.
    if (child?.pid && !exited) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exit;
      clearTimeout(timer);
    }
  }, 40_000);

  it("executes the console's commands: a channel connect, a workflow pause and resume, a chat message", async () => {
    const [channel, workflow, chat] = await Promise.all([connectChannel(), pauseAndResumeWorkflow(), chatMessage()]);

    // The connector answered the connect: it stepped through the sequence and ended connected or failed (with a reason).
    expect(["connected", "failed"]).toContain(channel.state);
    if (channel.state === "failed") expect(channel.reason).toBeTruthy();
    const channelEvents = await history("channel.*", channel.channel_id);
    expect(channelEvents.some((e) => e.type === "channel.progress" && e.data.worker === "connector-1"), "the connector reported progress").toBe(true);

    // The runner confirmed both controls (the state only moves on its confirmation).
    expect(workflow.confirmed).toEqual(["workflow.paused", "workflow.resumed"]);

    // helper-bot answered the console's message, streamed in order, completed.
    expect(chat.answer.status).toBe("complete");
    expect(chat.answer.text.length).toBeGreaterThan(0);
    expect(chat.deltas).toBeGreaterThan(1);
  }, 60_000);

  it("shows traffic in every domain through the API", async () => {
    // Calls: active or recent ones, numbers masked to their last 4 digits.
    const calls = await until("calls", async () => {
      const c = await api("/calls");
      return c.active.length + c.recent.length > 0 ? [...c.active, ...c.recent] : undefined;
    });
    for (const call of calls) expect(call.number.replace(/\D/g, "").length, `call ${call.call_id}: ${call.number}`).toBeLessThanOrEqual(4);
    expect(calls.some((c: Json) => c.number.startsWith("•••"))).toBe(true);

    // Agents: ada, grace and linus exist and hold their command streams. They drop and reconnect now and
    // then (at speed 20, often for longer than the presence grace), so each must be seen connected, not all at once.
    const seen = new Set<string>();
    await until("ada, grace and linus each seen connected", async () => {
      const { agents } = await api("/agents");
      for (const a of agents) if (a.connected && a.status !== "disconnected") seen.add(a.agent_id);
      return ["ada", "grace", "linus"].every((id) => seen.has(id));
    });
    expect(seen.has("helper-bot"), "the chat agent holds its command stream too").toBe(true);

    // Workflows and sessions exist on their own (the runner and the chat agent's seeding), not only ours:
    // on a loaded machine the runner may start its first one a moment after the other producers.
    await until("the runner's workflows beside ours", async () => (await api("/workflows")).workflows.length > 1);
    await until("the chat agent's session", async () => (await api("/sessions")).sessions.some((s: Json) => s.agent === "helper-bot"));

    // Every topic saw traffic, including tool runs and the activity feed of the connected channels.
    for (const topic of ["call", "agent", "channel", "workflow", "chat", "tool", "activity"]) {
      await until(`${topic}.* events`, async () => (await history(`${topic}.*`, undefined, true)).length > 0);
    }
    const activity = await history("activity.message", undefined, true);
    expect(activity[0].data).toMatchObject({ direction: expect.stringMatching(/^(in|out)$/), preview: expect.any(String) });
  }, 45_000);

  it("stops everything cleanly on SIGINT", async () => {
    child.kill("SIGINT");
    const result = await Promise.race([exit, new Promise<null>((r) => setTimeout(() => r(null), 40_000))]);
    expect(result, `the demo did not exit within 40 s of SIGINT; output:\n${output.slice(-3000)}`).not.toBeNull();
    expect(result, output.slice(-3000)).toEqual({ code: 0, signal: null });
    // The server shut down on its own (not killed after a timeout), every producer stopped, and the port is closed.
    expect(output).toMatch(/"msg":"switchboard stopped"/);
    expect(output).not.toMatch(/did not stop within|exited unexpectedly|shutdown failed/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 45_000);

  /** Connects a channel with the console's form, and waits for the connector to finish connecting it. */
  async function connectChannel(): Promise<Json> {
    const name = `Demo test ${Date.now().toString(36)}`;
    const res = await form(`/t/${TENANT}/channels`, { platform: "telegram", name, settings: "region=eu" });
    expect(res.status, await res.clone().text()).toBe(303);
    return until(`channel "${name}" to connect or fail`, async () => {
      const found = (await api("/channels")).channels.find((c: Json) => c.name === name);
      return found && found.state !== "connecting" ? found : undefined;
    }, 25_000);
  }

  /**
   * Pauses a running workflow with the console's button, waits for the
   * runner's confirmation, then resumes it and waits again. A workflow
   * that ends before the runner takes the pause is skipped for another.
   */
  async function pauseAndResumeWorkflow(): Promise<{ id: string; confirmed: string[] }> {
    const deadline = Date.now() + 40_000;
    const tried = new Set<string>();
    while (Date.now() < deadline) {
      const { workflows } = await api("/workflows?state=running");
      const target = workflows.find((w: Json) => !tried.has(w.workflow_id) && w.pending_action === null && w.worker === "runner-1");
      if (!target) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const id: string = target.workflow_id;
      tried.add(id);
      const path = `/t/${TENANT}/workflows/${encodeURIComponent(id)}`;
      const paused = await form(`${path}/pause`, { view: "full" });
      if (paused.status !== 303) continue; // it ended meanwhile (409): take another
      const afterPause = await until(`workflow ${id} to answer the pause`, async () => {
        const { workflow } = await api(`/workflows/${encodeURIComponent(id)}`);
        return workflow.pending_action === null ? workflow : undefined;
      });
      if (afterPause.state !== "paused") continue; // finished before the runner could pause it
      const resumed = await form(`${path}/resume`, { view: "full" });
      expect(resumed.status, await resumed.clone().text()).toBe(303);
      await until(`workflow ${id} to answer the resume`, async () => {
        const { workflow } = await api(`/workflows/${encodeURIComponent(id)}`);
        return workflow.pending_action === null && workflow.state !== "paused" ? workflow : undefined;
      });
      const confirmed = (await history("workflow.paused,workflow.resumed", id)).map((e) => e.type);
      return { id, confirmed };
    }
    throw new Error("no running workflow of runner-1 could be paused and resumed");
  }

  /** Opens a session with helper-bot and sends a message with the console's forms; waits for the completed answer. */
  async function chatMessage(): Promise<{ answer: Json; deltas: number }> {
    const opened = await form(`/t/${TENANT}/sessions`, { agent: "helper-bot", title: "Demo test" });
    expect(opened.status, await opened.clone().text()).toBe(303);
    const view = opened.headers.get("location")!;
    const sessionId = decodeURIComponent(view.split("/").pop()!);
    const sent = await form(`${view}/messages`, { text: "Hi! Where is order 4471?" });
    expect(sent.status, await sent.clone().text()).toBe(303);
    const answer = await until("helper-bot's completed answer", async () => {
      const { messages } = await api(`/sessions/${encodeURIComponent(sessionId)}`);
      const question = messages.find((m: Json) => m.role === "user");
      const reply = messages.find((m: Json) => m.role === "assistant" && m.reply_to === question?.message_id);
      return reply && reply.status !== "streaming" ? reply : undefined;
    }, 25_000);
    // The order question runs a tool first: it ended (completed, or failed as a flaky backend does).
    expect(answer.tools.map((t: Json) => t.name)).toEqual(["lookup_order"]);
    expect(["completed", "failed"]).toContain(answer.tools[0].status);
    const deltas = (await history("chat.delta", sessionId)).filter((e) => e.data.message_id === answer.message_id);
    expect(deltas.map((e) => e.data.seq)).toEqual(deltas.map((_, i) => i));
    return { answer, deltas: deltas.length };
  }
});
