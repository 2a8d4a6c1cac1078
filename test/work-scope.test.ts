import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scope } from "../src/store/keys.js";
import { logHead, walkHistory } from "./support/history-pages.js";
import { api, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { createKey } from "./support/tenants.js";

/**
 * Being a worker is the `work` scope: holding a command stream (which
 * appends the worker's presence) and publishing a worker's answers and
 * reports. A key may be bound to the workers it speaks for; the binding is
 * held on its command streams and on every worker event it publishes,
 * judged against the state the event meets (the workflow's runner, the
 * channel's connector, the session's agent).
 */
describe("the work scope and worker bindings", () => {
  let server: TestServer;
  const keys: Record<string, string> = {};
  const streams: SseClient[] = [];

  const make = async (name: string, scopes: Scope[], workers?: string[]) => {
    keys[name] = (await createKey(server, { tenant: "demo", scopes, workers, label: name })).secret;
  };
  const commands = (worker: string, key: string, query = "") =>
    api(server, `/api/v1/tenants/demo/workers/${encodeURIComponent(worker)}/commands${query}`, { key, headers: { accept: "text/event-stream" } });
  const openCommands = async (worker: string, key: string) => {
    const stream = await SseClient.open(`${server.url}/api/v1/tenants/demo/workers/${encodeURIComponent(worker)}/commands`, { authorization: `Bearer ${key}` });
    streams.push(stream);
    return stream;
  };
  const typesOf = async (subject: string) => (await walkHistory(server, "demo", { subject })).map((e) => e.type);

  beforeAll(async () => {
    server = await startTestServer({ PRESENCE_GRACE_MS: "600000" });
    await make("reader", ["read"]);
    await make("publisher", ["read", "publish"]);
    await make("operator", ["read", "publish", "control"]);
    await make("anyWorker", ["read", "publish", "work"]);
    await make("runner1", ["read", "publish", "work"], ["runner-1"]);
    await make("runners", ["read", "publish", "work"], ["runner-*"]);
    await make("connector1", ["publish", "work"], ["connector-1"]);
    await make("connector2", ["publish", "work"], ["connector-2"]);
    await make("helperBot", ["publish", "work"], ["helper-bot"]);
    await make("otherBot", ["publish", "work"], ["other-bot"]);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await server?.dispose();
  });

  describe("command streams", () => {
    it("refuse a key without work, appending no presence", async () => {
      const head = await logHead(server);
      for (const key of [keys.reader, keys.publisher, keys.operator]) {
        const res = await commands("ada", key);
        expect(res.status).toBe(403);
        expect(await res.json()).toEqual({ error: "forbidden", message: 'this key lacks the "work" scope' });
      }
      expect(await logHead(server)).toBe(head);
      expect(await typesOf("ada")).toEqual([]);
    });

    it("open for a key with work, whose stream is the worker's presence", async () => {
      const stream = await openCommands("ada", keys.anyWorker);
      expect(stream.status).toBe(200);
      await expect.poll(() => typesOf("ada")).toEqual(["agent.connected"]);
    });

    it("refuse a bound key another worker's stream, naming what it may speak for", async () => {
      const head = await logHead(server);
      const refused = await commands("runner-2", keys.runner1);
      expect(refused.status).toBe(403);
      expect((await refused.json()).message).toBe('this key may speak only for workers "runner-1", not for "runner-2"');
      // Declaring a kind does not widen the binding: the stream is still runner-2's.
      expect((await commands("runner-2", keys.runner1, "?kinds=workflows")).status).toBe(403);
      expect(await logHead(server)).toBe(head);

      const own = await openCommands("runner-1", keys.runner1);
      expect(own.status).toBe(200);
      const byPattern = await openCommands("runner-7", keys.runners);
      expect(byPattern.status).toBe(200);
      await expect.poll(async () => [...(await typesOf("runner-1")), ...(await typesOf("runner-7"))]).toEqual(["agent.connected", "agent.connected"]);
      expect(await typesOf("runner-2")).toEqual([]);
    });
  });

  describe("worker events", () => {
    const started = (id: string, worker: string) => ({ type: "workflow.started", subject: id, data: { name: id, stages: ["one", "two"], worker } });
    const workflow = async (id: string) => (await (await api(server, `/api/v1/tenants/demo/workflows/${id}`)).json()).workflow;

    it("need the work scope: a publish key cannot confirm, report or start a worker's work", async () => {
      expect((await publish(server, "demo", started("wf-1", "runner-1"))).status).toBe(201);
      expect((await api(server, "/api/v1/tenants/demo/workflows/wf-1/pause", { method: "POST", key: keys.operator })).status).toBe(201);
      const head = await logHead(server);
      for (const event of [
        { type: "workflow.paused", subject: "wf-1" },
        { type: "workflow.progress", subject: "wf-1", data: { progress: 0.5 } },
        started("wf-forged", "runner-1"),
        { type: "agent.status", subject: "ada", data: { status: "busy" } },
      ]) {
        const reply = await publish(server, "demo", [{ type: "note.added" }, event], { key: keys.operator });
        expect(reply.status, event.type).toBe(403);
        expect(reply.body.message).toBe(`${event.type} is published by a worker: publishing it needs the "work" scope`);
      }
      expect(await logHead(server)).toBe(head);
      expect((await workflow("wf-1")).state).toBe("running");
      // Everything else stays with publish.
      expect((await publish(server, "demo", { type: "note.added" }, { key: keys.publisher })).status).toBe(201);
    });

    it("from a bound key speak only for its workers: a confirmation of another runner's workflow is refused", async () => {
      expect((await publish(server, "demo", started("wf-2", "runner-2"))).status).toBe(201);
      expect((await api(server, "/api/v1/tenants/demo/workflows/wf-2/pause", { method: "POST", key: keys.operator })).status).toBe(201);
      const head = await logHead(server);

      const forged = await publish(server, "demo", { type: "workflow.paused", subject: "wf-2" }, { key: keys.runner1 });
      expect(forged.status).toBe(403);
      expect(forged.body).toEqual({
        error: "forbidden",
        message: 'workflow.paused of wf-2 speaks for worker "runner-2", and this key may speak only for workers "runner-1"',
      });
      const inBatch = await publish(server, "demo", [{ type: "note.added" }, { type: "workflow.progress", subject: "wf-2", data: { progress: 0.9 } }], { key: keys.runner1 });
      expect(inBatch.status).toBe(403);
      expect(inBatch.body.details).toEqual([{ index: 1, reason: expect.stringContaining('speaks for worker "runner-2"') }]);
      expect(await logHead(server)).toBe(head);
      expect(await workflow("wf-2")).toMatchObject({ state: "running", pending_action: "pause" });

      // Its own runner's confirmation goes through, and so does an unbound worker key's.
      const own = await publish(server, "demo", { type: "workflow.paused", subject: "wf-1" }, { key: keys.runner1 });
      expect(own.status).toBe(201);
      expect((await workflow("wf-1")).state).toBe("paused");
      expect((await publish(server, "demo", { type: "workflow.paused", subject: "wf-2" }, { key: keys.anyWorker })).status).toBe(201);
    });

    it("judge a request on its own state: a bound key starts and reports its own workflow in one batch, not another's", async () => {
      const mine = await publish(server, "demo", [started("wf-3", "runner-1"), { type: "workflow.progress", subject: "wf-3", data: { progress: 0.2, stage: "one" } }], {
        key: keys.runner1,
      });
      expect(mine.status).toBe(201);
      expect(await workflow("wf-3")).toMatchObject({ worker: "runner-1", progress: 0.2 });

      const head = await logHead(server);
      const theirs = await publish(server, "demo", [started("wf-4", "runner-2"), { type: "workflow.completed", subject: "wf-4" }], { key: keys.runner1 });
      expect(theirs.status).toBe(403);
      expect(theirs.body.details).toEqual([{ index: 0, reason: expect.stringContaining('workflow.started of wf-4 speaks for worker "runner-2"') }]);
      expect(await logHead(server)).toBe(head);
      expect((await api(server, "/api/v1/tenants/demo/workflows/wf-4")).status).toBe(404);
    });

    it("hold a channel's connector to its binding, by the worker it names or the one holding the channel", async () => {
      const connect = await api(server, "/api/v1/tenants/demo/channels", {
        method: "POST",
        key: keys.operator,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "ch-1", platform: "slack", name: "Support" }),
      });
      expect(connect.status).toBe(201);
      const head = await logHead(server);
      // Addressed to the kind, held by nobody yet: a bound key must say which of its workers answers.
      const anonymous = await publish(server, "demo", { type: "channel.progress", subject: "ch-1", data: { step: 1, total: 3, label: "Dialing" } }, { key: keys.connector1 });
      expect(anonymous.status).toBe(403);
      expect(anonymous.body.message).toBe('channel.progress of ch-1 names no worker, and this key may speak only for workers "connector-1": name one of them (data.worker)');
      const impostor = await publish(server, "demo", { type: "channel.progress", subject: "ch-1", data: { step: 1, total: 3, label: "Dialing", worker: "connector-1" } }, { key: keys.connector2 });
      expect(impostor.status).toBe(403);
      expect(await logHead(server)).toBe(head);

      const claimed = await publish(server, "demo", { type: "channel.progress", subject: "ch-1", data: { step: 1, total: 3, label: "Dialing", worker: "connector-1" } }, { key: keys.connector1 });
      expect(claimed.status).toBe(201);
      // Now connector-1 holds it: a report naming no worker speaks for connector-1, which connector2's key is not.
      const taken = await publish(server, "demo", { type: "channel.connected", subject: "ch-1" }, { key: keys.connector2 });
      expect(taken.status).toBe(403);
      expect(taken.body.message).toContain('channel.connected of ch-1 speaks for worker "connector-1"');
      expect((await publish(server, "demo", { type: "channel.connected", subject: "ch-1" }, { key: keys.connector1 })).status).toBe(201);
      const channel = (await (await api(server, "/api/v1/tenants/demo/channels/ch-1")).json()).channel;
      expect(channel).toMatchObject({ state: "connected", worker: "connector-1" });
    });

    it("hold a chat agent's answers and tool runs to the session's agent", async () => {
      const opened = await api(server, "/api/v1/tenants/demo/sessions", {
        method: "POST",
        key: keys.operator,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "s-1", agent: "helper-bot" }),
      });
      expect(opened.status).toBe(201);
      const sent = await api(server, "/api/v1/tenants/demo/sessions/s-1/messages", {
        method: "POST",
        key: keys.operator,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message_id: "m-1", text: "Where is order 991?" }),
      });
      expect(sent.status).toBe(201);
      const answer = [
        { type: "tool.started", subject: "run-1", data: { session_id: "s-1", message_id: "a-1", reply_to: "m-1", name: "lookup_order" } },
        { type: "chat.delta", subject: "s-1", data: { message_id: "a-1", reply_to: "m-1", seq: 0, text: "It shipped." } },
        { type: "tool.completed", subject: "run-1", data: { output: "shipped" } },
        { type: "chat.completed", subject: "s-1", data: { message_id: "a-1" } },
      ];
      const head = await logHead(server);
      const whole = await publish(server, "demo", answer, { key: keys.otherBot });
      expect(whole.status).toBe(403);
      expect(whole.body.details).toEqual([
        { index: 0, reason: 'tool.started of run-1 speaks for worker "helper-bot", and this key may speak only for workers "other-bot"' },
      ]);
      expect(await logHead(server)).toBe(head);

      expect((await publish(server, "demo", answer.slice(0, 2), { key: keys.helperBot })).status).toBe(201);
      const midway = await logHead(server);
      // Once the run and the answer exist, each next step is still the session's agent's alone.
      for (const event of [...answer.slice(2), { type: "tool.progress", subject: "run-1", data: { progress: 0.5 } }]) {
        const reply = await publish(server, "demo", event, { key: keys.otherBot });
        expect(reply.status, event.type).toBe(403);
        expect(reply.body.message).toBe(`${event.type} of ${event.subject} speaks for worker "helper-bot", and this key may speak only for workers "other-bot"`);
      }
      expect(await logHead(server)).toBe(midway);
      expect((await publish(server, "demo", answer.slice(2), { key: keys.helperBot })).status).toBe(201);
      const { messages } = await (await api(server, "/api/v1/tenants/demo/sessions/s-1")).json();
      expect(messages.map((m: { role: string; status: string }) => [m.role, m.status])).toEqual([
        ["user", "complete"],
        ["assistant", "complete"],
      ]);
    });

    it("hold an agent's status to the agent it is", async () => {
      expect((await publish(server, "demo", { type: "agent.status", subject: "runner-2", data: { status: "busy" } }, { key: keys.runner1 })).status).toBe(403);
      expect((await publish(server, "demo", { type: "agent.status", subject: "runner-1", data: { status: "busy" } }, { key: keys.runner1 })).status).toBe(201);
    });
  });
});
