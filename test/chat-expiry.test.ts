import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emit, expectStateAgreesWithLog, message, post } from "./support/chat.js";
import { walkHistory, type EventJson } from "./support/history-pages.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/** Waits (on the tenant's stream, from `after`) for the chat.message_expired of a session; the stream's timeout is only a failure guard. */
async function expiryOf(server: { url: string }, sessionId: string, after: number): Promise<EventJson> {
  const stream = await SseClient.open(`${server.url}/api/v1/tenants/demo/stream?types=chat.message_expired&subject=${sessionId}`, {
    authorization: `Bearer ${ADMIN_KEY}`,
    "last-event-id": String(after),
  });
  try {
    await stream.until((c) => c.messages.length > 0, 20_000);
    return JSON.parse(stream.messages[0].data) as EventJson;
  } finally {
    stream.close();
  }
}

/** Opens session `id` with `agent` and sends one message; returns the message's id and its event's. */
async function ask(server: { url: string }, id: string, agent: string, text = "Where is order 991?") {
  expect((await post(server, "/sessions", { agent, id })).status).toBe(201);
  const sent = await post(server, `/sessions/${id}/messages`, { text, message_id: `${id}-m1` });
  expect(sent.status, JSON.stringify(sent.body)).toBe(201);
  return { messageId: sent.body.message_id as string, eventId: sent.body.id as number };
}

const answer = (sessionId: string, replyTo: string) => ({ type: "chat.delta", subject: sessionId, data: { message_id: `${sessionId}-a1`, reply_to: replyTo, seq: 0, text: "On its way." } });

/**
 * A user's message waits for its agent's answer; one that nobody answers
 * within COMMAND_TIMEOUT_MS (small here) expires visibly, as a workflow
 * control does: Switchboard appends chat.message_expired.
 */
describe("chat messages expire unanswered", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "300" });
  });
  afterAll(() => server.dispose());

  it("a message to an agent nobody runs expires; a late answer still completes it", async () => {
    const { messageId, eventId } = await ask(server, "s-nobody", "no-such-agent");
    const expired = await expiryOf(server, "s-nobody", eventId);
    expect(expired).toMatchObject({ type: "chat.message_expired", subject: "s-nobody", data: { message_id: messageId, agent: "no-such-agent" } });
    expect(await message(server, "s-nobody", messageId)).toMatchObject({ role: "user", status: "expired" });
    await expectStateAgreesWithLog(server);

    // The message stays on the agent's command stream: if it comes and answers, the answer counts.
    await emit(server, answer("s-nobody", messageId));
    expect(await message(server, "s-nobody", messageId)).toMatchObject({ status: "complete" });
    expect(await message(server, "s-nobody", "s-nobody-a1")).toMatchObject({ role: "assistant", status: "streaming", text: "On its way." });
    await expectStateAgreesWithLog(server);
  });

  it("an answered message never expires: by its first answer event, or a tool run on it", async () => {
    const byAnswer = await ask(server, "s-answered", "helper-bot");
    await emit(server, answer("s-answered", byAnswer.messageId));
    const byTool = await ask(server, "s-tooled", "helper-bot");
    await emit(server, { type: "tool.started", subject: "run-s-tooled", data: { session_id: "s-tooled", message_id: byTool.messageId, name: "lookup_order" } });
    expect(await message(server, "s-tooled", byTool.messageId)).toMatchObject({ status: "complete" });

    // A message sent later expires later: once it has, the deadlines of the answered ones have fired too.
    const later = await ask(server, "s-later", "no-such-agent");
    await expiryOf(server, "s-later", later.eventId);
    for (const s of ["s-answered", "s-tooled"]) expect(await walkHistory(server, "demo", { subject: s, types: "chat.message_expired" })).toEqual([]);
    expect(await message(server, "s-answered", byAnswer.messageId)).toMatchObject({ status: "complete" });
    await expectStateAgreesWithLog(server);
  });

  it("is appended by Switchboard only: a producer's chat.message_expired is refused", async () => {
    const reply = await emit(server, { type: "chat.message_expired", subject: "s-nobody", data: { message_id: "s-nobody-m1", agent: "x" } }, 400);
    expect(reply.body.details[0].reason).toBe("chat.message_expired is appended by Switchboard itself, not published");
  });
});

describe("chat messages left waiting by a stopped server", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-chat-expiry-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("expire after a restart, at their original deadline", async () => {
    const first = await startTestServer({ COMMAND_TIMEOUT_MS: "600000" }, dir);
    const { messageId, eventId } = await ask(first, "s-restart", "no-such-agent");
    expect(await message(first, "s-restart", messageId)).toMatchObject({ status: "pending" });
    await first.close();

    // The deadline (sent + the timeout, now 300 ms) has passed by the time the next start arms it.
    const second = await startTestServer({ COMMAND_TIMEOUT_MS: "300" }, dir);
    try {
      const expired = await expiryOf(second, "s-restart", eventId);
      expect(expired.data).toEqual({ message_id: messageId, agent: "no-such-agent" });
      expect(await message(second, "s-restart", messageId)).toMatchObject({ status: "expired" });
    } finally {
      await second.close();
    }
  });
});
