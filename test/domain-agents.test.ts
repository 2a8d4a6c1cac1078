import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishCommand, registeredCommandTypes, type CommandType } from "./support/command-samples.js";
import { logHead, walkHistory, type EventJson } from "./support/history-pages.js";
import { ADMIN_KEY, api, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { createTenant } from "./support/tenants.js";

const GRACE_MS = "500";
const auth = { authorization: `Bearer ${ADMIN_KEY}` };

/** A worker's command stream: holding it open is the worker's presence. */
const openWorker = async (server: { url: string }, worker: string, options: { tenant?: string; kinds?: string; headers?: Record<string, string> } = {}) => {
  const query = options.kinds ? `?kinds=${options.kinds}` : "";
  const client = await SseClient.open(`${server.url}/api/v1/tenants/${options.tenant ?? "demo"}/workers/${worker}/commands${query}`, { ...auth, ...options.headers });
  expect(client.status).toBe(200);
  return client;
};

/** Resolves with the first event in the log (after `after`) matching type and subject; polls the history API, the timeout only guards. */
async function eventIn(server: { url: string }, type: string, subject: string, after = 0, timeoutMs = 10_000): Promise<EventJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await walkHistory(server, "demo", { types: type, subject })).find((e) => e.id > after);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${type} for ${subject} after ${after}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const agentEvents = async (server: { url: string }, subject: string, after = 0) =>
  (await walkHistory(server, "demo", { types: "agent.*", subject })).filter((e) => e.id > after).map((e) => e.type);

const agent = async (server: { url: string }, id: string) => {
  const res = await api(server, `/api/v1/tenants/demo/agents/${id}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as any).agent;
};

describe("agents domain", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ PRESENCE_GRACE_MS: GRACE_MS });
    await createTenant(server, "acme");
  });
  afterAll(() => server?.dispose());

  const status = async (id: string, data: Record<string, unknown>) => {
    const res = await publish(server, "demo", { type: "agent.status", subject: id, data });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.ids[0] as number;
  };

  describe("status", () => {
    it("follows agent.status: busy with its execution, back to available, error with its reason", async () => {
      const first = await status("ava", { status: "available", name: "Ava", capabilities: ["voice", "billing"], metrics: { tasks_done: 12, load: 0.25 } });
      expect(await agent(server, "ava")).toMatchObject({
        agent_id: "ava",
        name: "Ava",
        status: "available",
        capabilities: ["voice", "billing"],
        metrics: { tasks_done: 12, load: 0.25 },
        execution_id: null,
        error: null,
        connected: false,
        event_id: first,
      });

      await status("ava", { status: "busy", execution_id: "exec-42" });
      // What a status leaves out (name, capabilities, metrics) stays as it was.
      expect(await agent(server, "ava")).toMatchObject({ status: "busy", execution_id: "exec-42", name: "Ava", capabilities: ["voice", "billing"], metrics: { tasks_done: 12, load: 0.25 } });

      await status("ava", { status: "available", metrics: { tasks_done: 13 } });
      expect(await agent(server, "ava")).toMatchObject({ status: "available", execution_id: null, metrics: { tasks_done: 13 } });

      // An execution is only kept while busy; an error only while in error.
      await status("ava", { status: "available", execution_id: "exec-ignored" });
      expect((await agent(server, "ava")).execution_id).toBeNull();
      await status("ava", { status: "error", error: "model quota exhausted" });
      expect(await agent(server, "ava")).toMatchObject({ status: "error", error: "model quota exhausted", execution_id: null });
      await status("ava", { status: "available" });
      expect((await agent(server, "ava")).error).toBeNull();

      const res = await api(server, "/api/v1/tenants/demo/agents/nobody");
      expect(res.status).toBe(404);
    });

    it("filters agents by status, with the head the list reflects", async () => {
      await status("f-busy-1", { status: "busy", execution_id: "e1" });
      await status("f-busy-2", { status: "busy" });
      await status("f-error", { status: "error", error: "crashed" });
      const list = async (query: string) => {
        const res = await api(server, `/api/v1/tenants/demo/agents${query}`);
        expect(res.status).toBe(200);
        return (await res.json()) as { head: number; agents: any[] };
      };
      const busy = await list("?status=busy");
      expect(busy.agents.map((a) => a.agent_id)).toEqual(["f-busy-1", "f-busy-2"]);
      expect(busy.head).toBe(await logHead(server));
      expect((await list("?status=error")).agents.map((a) => a.agent_id)).toEqual(["f-error"]);
      expect((await list("")).agents.map((a) => a.agent_id)).toEqual(expect.arrayContaining(["ava", "f-busy-1", "f-busy-2", "f-error"]));
      const bad = await api(server, "/api/v1/tenants/demo/agents?status=sleeping");
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as any).error).toBe("invalid_filter");
    });

    it("refuses bad status data with 400, and presence events from producers", async () => {
      const before = await logHead(server);
      const cases: [unknown, RegExp][] = [
        [{ type: "agent.status", subject: "ava", data: { status: "sleeping" } }, /data\.status/],
        [{ type: "agent.status", data: { status: "available" } }, /needs a subject/],
        [{ type: "agent.status", subject: "ava", data: { status: "available", metrics: { load: "high" } } }, /data\.metrics/],
        [{ type: "agent.connected", subject: "ava", data: {} }, /appended by Switchboard itself/],
        [{ type: "agent.disconnected", subject: "ava", data: { reason: "faked" } }, /appended by Switchboard itself/],
        [{ type: "agent.heartbeat", subject: "ava", data: {} }, /not a agent event/],
      ];
      for (const [event, reason] of cases) {
        const res = await publish(server, "demo", event);
        expect(res.status, JSON.stringify(event)).toBe(400);
        expect(res.body.details[0].reason).toMatch(reason);
      }
      expect(await logHead(server)).toBe(before);
      expect((await agent(server, "ava")).connected).toBe(false);
    });
  });

  describe("presence", () => {
    it("appends agent.connected when a worker opens its command stream, and agent.disconnected a grace period after it is killed", async () => {
      await status("w-presence", { status: "busy", execution_id: "exec-7" });
      const before = await logHead(server);
      const stream = await openWorker(server, "w-presence");
      const connected = await eventIn(server, "agent.connected", "w-presence", before);
      expect(connected.data).toEqual({});
      // Connecting does not overrule the status the agent reported.
      expect(await agent(server, "w-presence")).toMatchObject({ connected: true, status: "busy", execution_id: "exec-7" });

      stream.close(); // destroys the socket: no goodbye
      const disconnected = await eventIn(server, "agent.disconnected", "w-presence", connected.id);
      expect(disconnected.data).toEqual({ reason: "command stream closed" });
      expect(await agent(server, "w-presence")).toMatchObject({ connected: false, status: "disconnected", execution_id: null, event_id: disconnected.id });

      // Coming back makes it available again.
      const again = await openWorker(server, "w-presence");
      await eventIn(server, "agent.connected", "w-presence", disconnected.id);
      expect(await agent(server, "w-presence")).toMatchObject({ connected: true, status: "available" });
      again.close();
      await eventIn(server, "agent.disconnected", "w-presence", disconnected.id);
      expect(await agentEvents(server, "w-presence", before)).toEqual(["agent.connected", "agent.disconnected", "agent.connected", "agent.disconnected"]);
    });

    it("appends nothing for a reconnect within the grace period, nor while a second stream stays open", async () => {
      const before = await logHead(server);
      const first = await openWorker(server, "w-blip");
      await eventIn(server, "agent.connected", "w-blip", before);
      const second = await openWorker(server, "w-blip");
      first.close(); // the second stream still holds its presence
      second.close();
      const third = await openWorker(server, "w-blip"); // back at once: well within the grace period
      try {
        // A witness dropped after all that: its disconnection comes a grace period after its own close,
        // so by then any timer the blips had armed would have fired first.
        const witness = await openWorker(server, "w-witness");
        await eventIn(server, "agent.connected", "w-witness", before);
        witness.close();
        await eventIn(server, "agent.disconnected", "w-witness", before);

        expect(await agentEvents(server, "w-blip", before)).toEqual(["agent.connected"]);
        expect(await agent(server, "w-blip")).toMatchObject({ connected: true, status: "available" });
      } finally {
        third.close();
      }
      await eventIn(server, "agent.disconnected", "w-blip", before);
    });

    it("after a restart, disconnects the agents that do not come back within the grace period, and only those", async () => {
      const dir = mkdtempSync(join(tmpdir(), "switchboard-presence-"));
      const env = { PRESENCE_GRACE_MS: "1500" };
      let current = await startTestServer(env, dir);
      try {
        const gone = await openWorker(current, "w-gone");
        const back = await openWorker(current, "w-back");
        await eventIn(current, "agent.connected", "w-gone");
        await eventIn(current, "agent.connected", "w-back");
        await current.close();
        // A shutdown is not a disconnection: the streams ended with the server.
        await gone.until((c) => c.closed);
        await back.until((c) => c.closed);

        current = await startTestServer(env, dir);
        const bootHead = await logHead(current);
        const returned = await openWorker(current, "w-back");
        try {
          expect(await agentEvents(current, "w-gone")).toEqual(["agent.connected"]);
          // The witness connects after boot, so its disconnection comes after the boot-time deadline of every agent.
          const witness = await openWorker(current, "w-witness2");
          await eventIn(current, "agent.connected", "w-witness2", bootHead);
          witness.close();
          const goneEvent = await eventIn(current, "agent.disconnected", "w-gone", bootHead);
          await eventIn(current, "agent.disconnected", "w-witness2", bootHead);

          expect(goneEvent.data).toEqual({ reason: "command stream closed" });
          expect(await agentEvents(current, "w-gone", bootHead)).toEqual(["agent.disconnected"]);
          expect(await agentEvents(current, "w-back", bootHead)).toEqual([]);
          expect(await agent(current, "w-gone")).toMatchObject({ connected: false, status: "disconnected" });
          expect(await agent(current, "w-back")).toMatchObject({ connected: true, status: "available" });
        } finally {
          returned.close();
        }
      } finally {
        await current.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("worker command streams", () => {
    let commands: CommandType[];
    beforeAll(async () => {
      commands = await registeredCommandTypes();
    });
    const none = "no command type is registered yet (deps.domains.commandTypes() is empty): nothing to deliver";

    it("delivers only the commands addressed to the worker, in its tenant, resumably", async (ctx) => {
      if (commands.length === 0) ctx.skip(none);
      const alpha = await openWorker(server, "w-alpha", { kinds: "k-alpha" });
      const beta = await openWorker(server, "w-beta");
      const foreign = await openWorker(server, "w-alpha", { tenant: "acme" });
      try {
        const c1 = await publishCommand(server, "demo", commands, { worker: "w-alpha" });
        const c2 = await publishCommand(server, "demo", commands, { worker: "w-beta" });
        await status("w-alpha", { status: "busy" }); // not a command: never on a command stream
        const c3 = await publishCommand(server, "demo", commands, { worker: "w-alpha" });
        await ctx.annotate(`raw commands of type ${c1.type}`);
        await alpha.until((c) => c.ids().includes(c3.id));
        expect(alpha.ids()).toEqual([c1.id, c3.id]);
        const frame = JSON.parse(alpha.messages[0].data);
        expect(alpha.messages[0].event).toBe(c1.type);
        expect(frame).toMatchObject({ id: c1.id, tenant: "demo", type: c1.type, subject: c1.subject, data: { worker: "w-alpha" } });

        const c4 = await publishCommand(server, "demo", commands, { worker: "w-beta" });
        await beta.until((c) => c.ids().includes(c4.id));
        expect(beta.ids()).toEqual([c2.id, c4.id]);

        // Another tenant's worker of the same name sees none of demo's commands, only its own.
        const own = await publishCommand(server, "acme", commands, { worker: "w-alpha" });
        await foreign.until((c) => c.ids().includes(own.id));
        expect(foreign.ids()).toEqual([own.id]);

        // Resuming: Last-Event-ID replays what came after it, for this worker only.
        const resumed = await openWorker(server, "w-alpha", { kinds: "k-alpha", headers: { "last-event-id": String(c1.id) } });
        const fromStart = await openWorker(server, "w-alpha", { headers: { "last-event-id": "0" } });
        try {
          await resumed.until((c) => c.ids().includes(c3.id));
          await fromStart.until((c) => c.ids().includes(c3.id));
          expect(resumed.ids()).toEqual([c3.id]);
          expect(fromStart.ids()).toEqual([c1.id, c3.id]);
        } finally {
          resumed.close();
          fromStart.close();
        }
      } finally {
        alpha.close();
        beta.close();
        foreign.close();
      }
    });

    it("delivers commands addressed to a kind to the workers that declare it", async (ctx) => {
      if (commands.length === 0) ctx.skip(none);
      const k = await openWorker(server, "w-kinds", { kinds: "k-one,k-two" });
      const n = await openWorker(server, "w-other", { kinds: "k-three" });
      try {
        const d1 = await publishCommand(server, "demo", commands, { kind: "k-one" });
        const d2 = await publishCommand(server, "demo", commands, { kind: "k-three" });
        const d3 = await publishCommand(server, "demo", commands, { kind: "k-two" });
        await ctx.annotate(`raw commands of type ${d1.type}`);
        await k.until((c) => c.ids().includes(d3.id));
        expect(k.ids()).toEqual([d1.id, d3.id]);
        expect(JSON.parse(k.messages[0].data).data).toMatchObject({ kind: "k-one" });
        const d4 = await publishCommand(server, "demo", commands, { kind: "k-three" });
        await n.until((c) => c.ids().includes(d4.id));
        expect(n.ids()).toEqual([d2.id, d4.id]);
      } finally {
        k.close();
        n.close();
      }
      const bad = await api(server, "/api/v1/tenants/demo/workers/w-kinds/commands?kinds=Not%20A%20Kind");
      expect(bad.status).toBe(400);
    });
  });
});
