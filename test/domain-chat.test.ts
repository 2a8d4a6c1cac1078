import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assemble, commandStream, delivered, emit, expectStateAgreesWithLog, fold, get, message, post, received, session, TENANT } from "./support/chat.js";
import { logHead, walkHistory } from "./support/history-pages.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/**
 * Chat sessions: a user's message reaches the session's agent as a command;
 * the agent's answer streams back as deltas that assemble in seq order
 * whatever order (and however often) they arrive; answers end completed or
 * failed; and the state the API serves is the log folded up to its head.
 */
describe("chat sessions", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.dispose());

  /** Opens a session with `agent` through the API and sends its first message; returns their ids. */
  async function conversation(agent: string, text = "What is the capital of France?") {
    const opened = await post(server, "/sessions", { agent, title: `chat with ${agent}` });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const sessionId: string = opened.body.session.session_id;
    const sent = await post(server, `/sessions/${sessionId}/messages`, { text });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    return { sessionId, messageId: sent.body.message_id as string, eventId: sent.body.id as number };
  }

  const delta = (sessionId: string, message_id: string, reply_to: string | undefined, seq: number, text: string) => ({
    type: "chat.delta",
    subject: sessionId,
    data: { message_id, seq, text, ...(reply_to ? { reply_to } : {}) },
  });

  it("delivers a user message to the session's agent's command stream, and to no other worker", async () => {
    const alpha = await commandStream(server, "agent-alpha");
    const beta = await commandStream(server, "agent-beta");
    expect([alpha.status, beta.status]).toEqual([200, 200]);

    const opened = await post(server, "/sessions", { agent: "agent-alpha", title: "Support", id: "s-route" });
    expect(opened.status).toBe(201);
    expect(opened.body.session).toMatchObject({ session_id: "s-route", agent: "agent-alpha", title: "Support", event_id: opened.body.id });
    expect((await post(server, "/sessions", { agent: "agent-beta", id: "s-route" })).status).toBe(409);

    const sent = await post(server, "/sessions/s-route/messages", { text: "Hello, agent", message_id: "m-1" });
    expect(sent.status).toBe(201);
    expect(sent.body.message_id).toBe("m-1");
    const command = await delivered(alpha, sent.body.id);
    expect(command).toMatchObject({ type: "chat.message", subject: "s-route", data: { message_id: "m-1", text: "Hello, agent", worker: "agent-alpha" } });

    // A message to beta's own session reaches beta; streams deliver in id order, so had alpha's
    // earlier message been routed to beta, beta would have received it first.
    const other = await conversation("agent-beta", "Hi beta");
    await delivered(beta, other.eventId);
    expect(received(beta).filter((e) => e.type === "chat.message").map((e) => e.subject)).toEqual([other.sessionId]);
    expect(received(alpha).filter((e) => e.type === "chat.message").map((e) => e.subject)).toEqual(["s-route"]);

    // The detail shows the user's message, pending: no answer yet.
    const detail = await session(server, "s-route");
    expect(detail.session.agent).toBe("agent-alpha");
    expect(detail.messages).toEqual([expect.objectContaining({ message_id: "m-1", role: "user", text: "Hello, agent", status: "pending", reply_to: null, tools: [] })]);
    alpha.close();
    beta.close();
  });

  it("checks a raw chat.message against the session's agent", async () => {
    const head = await logHead(server);
    // No session yet and no agent named: nobody to deliver it to.
    const orphan = await emit(server, { type: "chat.message", subject: "s-raw", data: { message_id: "m-1", text: "hi", worker: "agent-x" } }, 409);
    expect(orphan.body.message).toMatch(/first message must name the agent/);
    // The agent opens the session, and the target must be that agent.
    await emit(server, { type: "chat.message", subject: "s-raw", data: { message_id: "m-1", text: "hi", agent: "agent-x", worker: "agent-y" } }, 409);
    // A command needs its target.
    await emit(server, { type: "chat.message", subject: "s-raw", data: { message_id: "m-1", text: "hi", agent: "agent-x" } }, 400);
    await emit(server, { type: "chat.message", subject: "s-raw", data: { message_id: "m-1", text: "x".repeat(8001), agent: "agent-x", worker: "agent-x" } }, 400);
    expect(await logHead(server)).toBe(head);
    expect((await get(server, "/sessions/s-raw")).status).toBe(404);

    await emit(server, { type: "chat.message", subject: "s-raw", data: { message_id: "m-1", text: "hi", agent: "agent-x", worker: "agent-x" } });
    expect((await session(server, "s-raw")).session).toMatchObject({ agent: "agent-x", title: null });
    const wrong = await emit(server, { type: "chat.message", subject: "s-raw", data: { message_id: "m-2", text: "again", worker: "agent-y" } }, 409);
    expect(wrong.body).toMatchObject({ error: "conflict", message: expect.stringContaining("agent-x") });
    await emit(server, { type: "chat.message", subject: "s-raw", data: { message_id: "m-1", text: "same id", worker: "agent-x" } }, 409);
    expect((await post(server, "/sessions/no-such-session/messages", { text: "hi" })).status).toBe(404);
    expect((await post(server, "/sessions/s-raw/messages", { text: "" })).status).toBe(400);
  });

  it("assembles deltas published out of order and twice, and marks the answer complete", async () => {
    const { sessionId, messageId } = await conversation("agent-writer");
    const pieces = ["The ", "capital ", "of France ", "is ", "Paris."];
    const a = "answer-1";
    // Out of order, one at a time, with repeats (a repeat's different text is ignored: the first wins).
    for (const seq of [3, 0, 4, 0, 2]) await emit(server, delta(sessionId, a, messageId, seq, pieces[seq]));
    await emit(server, delta(sessionId, a, messageId, 4, "IGNORED"));
    // The rest in one batch, reversed.
    await emit(server, [delta(sessionId, a, undefined, 1, pieces[1]), delta(sessionId, a, undefined, 2, "IGNORED")]);

    const streaming = await message(server, sessionId, a);
    expect(streaming).toMatchObject({ role: "assistant", reply_to: messageId, status: "streaming", text: pieces.join(""), tools: [] });

    await emit(server, { type: "chat.completed", subject: sessionId, data: { message_id: a } });
    expect(await message(server, sessionId, a)).toMatchObject({ status: "complete", text: "The capital of France is Paris." });

    // After completion: a new piece is refused and changes nothing; a producer's retry of a kept piece is harmless.
    const head = await logHead(server);
    const late = await emit(server, delta(sessionId, a, messageId, 5, " Late."), 409);
    expect(late.body.message).toMatch(/already completed/);
    expect(await logHead(server)).toBe(head);
    await emit(server, delta(sessionId, a, messageId, 1, pieces[1]));
    await emit(server, { type: "chat.completed", subject: sessionId, data: { message_id: a } }, 409);
    expect(await message(server, sessionId, a)).toMatchObject({ status: "complete", text: "The capital of France is Paris." });
  });

  it("records chat.error, with or without a streamed answer", async () => {
    const { sessionId, messageId } = await conversation("agent-flaky");
    // Fails before streaming anything: the error itself opens the answer.
    await emit(server, { type: "chat.error", subject: sessionId, data: { message_id: "a-none", reply_to: messageId, reason: "model unavailable" } });
    // Fails half-way through.
    await emit(server, delta(sessionId, "a-half", messageId, 0, "Let me "));
    await emit(server, { type: "chat.error", subject: sessionId, data: { message_id: "a-half", reason: "context length exceeded" } });

    const { messages } = await session(server, sessionId);
    expect(messages.map((m) => [m.message_id, m.role, m.status, m.error, m.text])).toEqual([
      [messageId, "user", "complete", null, "What is the capital of France?"],
      ["a-none", "assistant", "error", "model unavailable", ""],
      ["a-half", "assistant", "error", "context length exceeded", "Let me "],
    ]);
    await emit(server, { type: "chat.completed", subject: sessionId, data: { message_id: "a-half" } }, 409);
    await emit(server, delta(sessionId, "a-half", undefined, 1, "more"), 409);
    await emit(server, { type: "chat.error", subject: sessionId, data: { message_id: "a-none", reason: "" } }, 400);
  });

  it("rejects a delta for an unknown message, and appends nothing", async () => {
    const { sessionId, messageId } = await conversation("agent-strict");
    await emit(server, delta(sessionId, "a-1", messageId, 0, "Hi"));
    const before = await session(server, sessionId);
    const history = await walkHistory(server, TENANT, { types: "chat.*,tool.*" });

    const refused: [unknown, number, RegExp][] = [
      [delta(sessionId, "a-2", undefined, 0, "no reply_to"), 409, /no message a-2.*reply_to/],
      [delta(sessionId, "a-2", "m-nobody", 0, "unknown question"), 409, /no user message m-nobody/],
      [delta(sessionId, "a-2", "a-1", 0, "answers an answer"), 409, /no user message a-1/],
      [delta(sessionId, messageId, undefined, 0, "into the user's message"), 409, /is a user message/],
      [delta(sessionId, "a-1", "m-other", 1, "wrong question"), 409, /replies to/],
      [delta("s-nowhere", "a-1", messageId, 0, "unknown session"), 409, /no session s-nowhere/],
      [delta(sessionId, "a-1", messageId, -1, "negative seq"), 400, /data\.seq/],
      [delta(sessionId, "a-1", messageId, 1.5, "fractional seq"), 400, /data\.seq/],
      [{ type: "chat.delta", subject: sessionId, data: { message_id: "a-1", seq: 1 } }, 400, /data\.text/],
      [{ type: "chat.delta", data: { message_id: "a-1", seq: 1, text: "no subject" } }, 400, /subject/],
      // A batch with one bad event appends none of it.
      [[delta(sessionId, "a-1", messageId, 1, " there"), delta(sessionId, "a-9", undefined, 0, "unknown")], 409, /no message a-9/],
    ];
    for (const [events, status, reason] of refused) {
      const reply = await emit(server, events, status);
      expect(status === 400 ? reply.body.details[0].reason : reply.body.message).toMatch(reason);
    }
    expect(await walkHistory(server, TENANT, { types: "chat.*,tool.*" })).toEqual(history);
    const after = await session(server, sessionId);
    expect(after.messages).toEqual(before.messages);
    expect(after.session).toEqual(before.session);
  });

  it("replays a session's events after a reconnect with Last-Event-ID into the same text", async () => {
    const { sessionId, messageId } = await conversation("agent-replay", "Count to ten");
    const a = "answer-count";
    const words = ["one", " two", " three", " four", " five", " six", " seven", " eight", " nine", " ten"];
    const url = `${server.url}/api/v1/tenants/${TENANT}/stream?types=chat.*&subject=${sessionId}`;
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };

    const first = await SseClient.open(url, { ...auth, "last-event-id": "0" });
    for (const seq of [1, 0, 2, 4, 3]) await emit(server, delta(sessionId, a, messageId, seq, words[seq]));
    await first.until((c) => received(c).filter((e) => e.type === "chat.delta").length === 5);
    first.close();
    const lastSeen = first.ids().at(-1)!;

    // While disconnected: the rest, out of order and with repeats, then the end.
    for (const seq of [9, 5, 6, 5, 8, 7, 9, 2]) await emit(server, delta(sessionId, a, messageId, seq, words[seq]));
    await emit(server, { type: "chat.completed", subject: sessionId, data: { message_id: a } });

    const second = await SseClient.open(url, { ...auth, "last-event-id": String(lastSeen) });
    await second.until((c) => received(c).some((e) => e.type === "chat.completed"));
    second.close();
    expect(Math.min(...second.ids())).toBeGreaterThan(lastSeen);

    const events = [...received(first), ...received(second)];
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const replayed = assemble(fold(events).sessions.get(sessionId)!.messages.get(a)!);
    expect(replayed).toBe(words.join(""));
    expect((await message(server, sessionId, a)).text).toBe(replayed);

    // A client that was never connected replays the whole session from the start: the same answer.
    const fresh = await SseClient.open(url, { ...auth, "last-event-id": "0" });
    await fresh.until((c) => received(c).some((e) => e.type === "chat.completed"));
    fresh.close();
    expect(assemble(fold(received(fresh)).sessions.get(sessionId)!.messages.get(a)!)).toBe(replayed);
  });

  it("serves a session list and details that agree with the log at their head", async () => {
    const list = await get(server, "/sessions");
    expect(list.body.sessions.length).toBeGreaterThanOrEqual(7);
    // Most recently active first.
    const updated = list.body.sessions.map((s: any) => Date.parse(s.updated_at));
    expect(updated).toEqual([...updated].sort((a, b) => b - a));
    expect((await get(server, "/sessions?agent=agent-alpha")).body.sessions.map((s: any) => s.session_id)).toEqual(["s-route"]);
    expect((await get(server, "/sessions?limit=0")).status).toBe(400);
    expect((await get(server, "/sessions/nope")).status).toBe(404);
    await expectStateAgreesWithLog(server);
  });
});
