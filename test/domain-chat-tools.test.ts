import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandStream, delivered, emit, expectStateAgreesWithLog, get, message, post, received } from "./support/chat.js";
import { logHead } from "./support/history-pages.js";
import { startTestServer, type TestServer } from "./support/server.js";

/**
 * Tool runs inside a chat answer: started, progressing with output chunks,
 * and ending completed, failed or cancelled (a cancel is a command that
 * reaches the session's agent, which answers tool.cancelled), all visible
 * in the session's detail; and every state read agrees with the log.
 */
describe("chat tool runs", () => {
  let server: TestServer;
  const S = "s-tools";
  const Q = "m-question";
  const A = "a-answer";
  beforeAll(async () => {
    server = await startTestServer();
    expect((await post(server, "/sessions", { agent: "agent-tools", id: S })).status).toBe(201);
    expect((await post(server, `/sessions/${S}/messages`, { text: "Find the weather in Paris", message_id: Q })).status).toBe(201);
  });
  afterAll(() => server.dispose());

  const tool = (type: string, toolId: string, data: Record<string, unknown> = {}) => ({ type, subject: toolId, data });
  const toolOf = async (toolId: string) => (await get(server, `/tools/${toolId}`)).body.tool;

  it("runs a tool: started (opening the answer), progress with output chunks, completed", async () => {
    // The agent calls a tool before streaming any text: reply_to opens its answer.
    await emit(server, tool("tool.started", "t-weather", { session_id: S, message_id: A, reply_to: Q, name: "weather", input: { city: "Paris" } }));
    await emit(server, tool("tool.progress", "t-weather", { progress: 0.25, output: "fetching…\n" }));
    await emit(server, tool("tool.progress", "t-weather", { output: "got 200\n" }));
    await emit(server, tool("tool.progress", "t-weather", { progress: 0.75 }));

    let answer = await message(server, S, A);
    expect(answer).toMatchObject({ role: "assistant", status: "streaming", reply_to: Q, text: "" });
    expect(answer.tools).toEqual([expect.objectContaining({ tool_id: "t-weather", name: "weather", status: "running", progress: 0.75, output: "fetching…\ngot 200\n", cancel_requested: false })]);

    await emit(server, tool("tool.completed", "t-weather", { output: "18°C, cloudy" }));
    await emit(server, { type: "chat.delta", subject: S, data: { message_id: A, seq: 0, text: "It is 18°C." } });
    answer = await message(server, S, A);
    expect(answer.text).toBe("It is 18°C.");
    expect(answer.tools[0]).toMatchObject({ status: "completed", progress: 1, output: "fetching…\ngot 200\n18°C, cloudy", error: null });

    // An ended run takes no more events.
    const head = await logHead(server);
    await emit(server, tool("tool.progress", "t-weather", { progress: 0.9 }), 409);
    await emit(server, tool("tool.completed", "t-weather"), 409);
    await emit(server, tool("tool.failed", "t-weather", { reason: "late" }), 409);
    expect(await logHead(server)).toBe(head);
  });

  it("refuses tool events that break the rules, appending nothing", async () => {
    await emit(server, tool("tool.started", "t-check", { session_id: S, message_id: A, name: "check" }));
    const head = await logHead(server);
    const refused: [unknown, number, RegExp][] = [
      [tool("tool.progress", "t-check", { progress: 1.5 }), 400, /data\.progress: must be between 0 and 1/],
      [tool("tool.progress", "t-check", { progress: -0.1 }), 400, /data\.progress/],
      [tool("tool.progress", "t-check", {}), 400, /needs progress/],
      [tool("tool.progress", "t-nothing", { progress: 0.5 }), 409, /no tool run t-nothing/],
      [tool("tool.cancelled", "t-nothing"), 409, /no tool run/],
      [tool("tool.started", "t-check", { session_id: S, message_id: A, name: "again" }), 409, /already started/],
      [tool("tool.started", "t-lost", { session_id: "s-nowhere", message_id: A, name: "x" }), 409, /no session s-nowhere/],
      [tool("tool.started", "t-lost", { session_id: S, message_id: "a-unknown", name: "x" }), 409, /no message a-unknown/],
      [tool("tool.started", "t-lost", { session_id: S, message_id: "a-new", reply_to: A, name: "x" }), 409, /no user message/],
      [tool("tool.failed", "t-check", {}), 400, /data\.reason/],
      [tool("tool.cancel_requested", "t-check", { worker: "agent-other" }), 409, /agent-tools/],
      [tool("tool.cancel_requested", "t-check", {}), 400, /data\.worker/],
    ];
    for (const [event, status, reason] of refused) {
      const { body } = await emit(server, event, status);
      // 400s (bad data) give the reason per event in details; 409s (broken rules) in the message.
      expect(status === 400 ? body.details[0].reason : body.message).toMatch(reason);
    }
    expect(await logHead(server)).toBe(head);
    expect(await toolOf("t-check")).toMatchObject({ status: "running", progress: 0, output: "", cancel_requested: false });
    expect((await get(server, "/tools/t-lost")).status).toBe(404);

    await emit(server, tool("tool.failed", "t-check", { reason: "rate limited" }));
    expect(await toolOf("t-check")).toMatchObject({ status: "failed", error: "rate limited" });
    expect((await message(server, S, A)).tools.map((t: any) => [t.tool_id, t.status])).toEqual([
      ["t-weather", "completed"],
      ["t-check", "failed"],
    ]);
  });

  it("cancels a tool run: the request reaches the agent, which answers tool.cancelled", async () => {
    const agent = await commandStream(server, "agent-tools");
    const bystander = await commandStream(server, "agent-bystander");
    await emit(server, tool("tool.started", "t-long", { session_id: S, message_id: A, name: "crawl" }));
    await emit(server, tool("tool.progress", "t-long", { progress: 0.1, output: "page 1\n" }));

    const cancel = await post(server, "/tools/t-long/cancel", { reason: "user pressed stop" });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(201);
    const command = await delivered(agent, cancel.body.id);
    expect(command).toMatchObject({ type: "tool.cancel_requested", subject: "t-long", data: { worker: "agent-tools", reason: "user pressed stop" } });
    expect(await toolOf("t-long")).toMatchObject({ status: "running", cancel_requested: true });

    // The agent stops the run and says so.
    await emit(server, tool("tool.cancelled", "t-long", { reason: "stopped by user" }));
    const run = (await message(server, S, A)).tools.find((t: any) => t.tool_id === "t-long");
    expect(run).toMatchObject({ status: "cancelled", cancel_requested: false, error: "stopped by user", progress: 0.1, output: "page 1\n" });

    const late = await post(server, "/tools/t-long/cancel");
    expect(late.status).toBe(409);
    expect(late.body.message).toMatch(/already cancelled/);
    expect((await post(server, "/tools/t-nothing/cancel")).status).toBe(404);
    expect((await post(server, "/tools/t-weather/cancel", { worker: "someone" })).status).toBe(400);

    // Only the session's agent got the command: the bystander's stream carries only its own command.
    const own = await post(server, "/sessions", { agent: "agent-bystander", id: "s-bystander" });
    const ownMessage = await post(server, "/sessions/s-bystander/messages", { text: "hi" });
    expect([own.status, ownMessage.status]).toEqual([201, 201]);
    await delivered(bystander, ownMessage.body.id);
    expect(received(bystander).map((e) => e.type)).toEqual(["chat.message"]);
    expect(received(agent).filter((e) => e.type === "tool.cancel_requested").map((e) => e.id)).toEqual([cancel.body.id]);
    agent.close();
    bystander.close();
  });

  it("keeps only the last 64 KB of a tool's output", async () => {
    await emit(server, tool("tool.started", "t-chatty", { session_id: S, message_id: A, name: "logs" }));
    const chunks = ["a".repeat(30_000), "b".repeat(30_000), "c".repeat(30_000)];
    for (const output of chunks) await emit(server, tool("tool.progress", "t-chatty", { output }));
    const run = await toolOf("t-chatty");
    expect(run.output.length).toBe(64 * 1024);
    expect(run.output).toBe(chunks.join("").slice(-64 * 1024));
  });

  it("serves state that agrees with the log at its head, even while the agent streams", async () => {
    await emit(server, { type: "chat.message", subject: S, data: { message_id: "m-2", text: "And tomorrow?", worker: "agent-tools" } });
    // Appends race the reads: each read must equal the log folded exactly through the head it reports.
    const streaming = Promise.all(
      Array.from({ length: 40 }, (_, i) => emit(server, { type: "chat.delta", subject: S, data: { message_id: "a-2", reply_to: "m-2", seq: 39 - i, text: `w${39 - i} ` } })),
    );
    await expectStateAgreesWithLog(server);
    await streaming;
    await emit(server, { type: "chat.completed", subject: S, data: { message_id: "a-2" } });
    await expectStateAgreesWithLog(server);
    const done = await message(server, S, "a-2");
    expect(done.text).toBe(Array.from({ length: 40 }, (_, i) => `w${i} `).join(""));
  });
});
