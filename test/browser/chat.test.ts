import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, publish, startTestServer, type TestServer } from "../support/server.js";
import { SseClient } from "../support/sse-client.js";
import { commandStream } from "../support/chat.js";
import { ARTIFACTS, holdAnswer, launchBrowser, signIn, waitLive } from "./browser.js";

/**
 * The chat session view, driven as an operator and an agent would: the
 * operator's message reaches the agent's command stream, the agent's
 * deltas stream back into the page, tool runs show progress and output,
 * and a Cancel reaches the agent, which answers tool.cancelled.
 */
describe("console: chat session view", () => {
  const AGENT = "helper";
  const SESSION = "s-refund";
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let agent: SseClient;

  beforeAll(async () => {
    server = await startTestServer();
    const opened = await api(server, "/api/v1/tenants/demo/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: SESSION, agent: AGENT, title: "Refund for order 1042" }),
    });
    expect(opened.status).toBe(201);
    agent = await commandStream(server, AGENT);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    await signIn(page, server.url);
  });
  afterAll(async () => {
    agent?.close();
    await browser?.close();
    await server?.dispose();
  });

  /** As the agent: publishes one event and expects it accepted. */
  const emit = async (type: string, subject: string, data: Record<string, unknown>) => {
    const reply = await publish(server, "demo", { type, subject, data });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  };
  /** The next command of `type` the agent receives (after the ones it has already seen). */
  const seen = new Map<string, number>();
  const nextCommand = async (type: string): Promise<{ subject: string; data: any }> => {
    const index = seen.get(type) ?? 0;
    const commands = () => agent.messages.filter((m) => m.event === type);
    await agent.until(() => commands().length > index);
    seen.set(type, index + 1);
    return JSON.parse(commands()[index].data);
  };
  const send = async (text: string) => {
    await page.fill("#chat-text", text);
    await page.click("#chat-send button[type=submit]");
    // The form comes back cleared.
    await page.waitForFunction(() => (document.getElementById("chat-text") as HTMLTextAreaElement | null)?.value === "", null, { timeout: 5000 });
  };
  const answerText = (id: string) => page.locator(`#msg-${id} .msg-text`).textContent();

  it("lists the session on the sessions page and opens its view", async () => {
    await waitLive(page);
    await page.goto(`${server.url}/t/demo/sessions`);
    await waitLive(page);
    const row = page.locator(`#sessions li[data-session="${SESSION}"]`);
    await row.waitFor({ timeout: 5000 });
    await expect(row.textContent()).resolves.toContain(AGENT);
    await page.locator(".chat-sessions").screenshot({ path: resolve(ARTIFACTS, "console-sessions.png") });
    await Promise.all([page.waitForURL(/\/sessions\/s-refund$/), row.locator("a").click()]);
    await waitLive(page);
    await expect(page.locator("#transcript").getAttribute("role")).resolves.toBe("log");
    await expect(page.locator("#transcript").getAttribute("aria-live")).resolves.toBe("polite");
  });

  it("sends a message to the agent and streams its answer in sequence order", async () => {
    await send("Where is my refund?");
    const command = await nextCommand("chat.message");
    expect(command).toMatchObject({ subject: SESSION, data: { text: "Where is my refund?", worker: AGENT } });
    const question = command.data.message_id as string;
    const user = page.locator(`#msg-${question}`);
    await user.waitFor({ timeout: 5000 });
    await expect(user.textContent()).resolves.toContain("Where is my refund?");

    // Whatever streams in, the operator's draft stays as it is.
    await page.fill("#chat-text", "a draft in progress");

    await emit("chat.delta", SESSION, { message_id: "a-1", reply_to: question, seq: 0, text: "Your refund " });
    await page.locator("#msg-a-1 .typing").waitFor({ timeout: 5000 });
    await expect(answerText("a-1")).resolves.toBe("Your refund ");
    // From here on only the streamed message is re-rendered: the question stays the same element.
    await user.evaluate((el) => ((el as any).__kept = true));
    // Out of order: seq 2 before seq 1. The projection's assembled text puts each piece in its place.
    await emit("chat.delta", SESSION, { message_id: "a-1", seq: 2, text: "on Friday." });
    await page.waitForFunction(() => document.querySelector("#msg-a-1 .msg-text")?.textContent === "Your refund on Friday.", null, { timeout: 5000 });
    await emit("chat.delta", SESSION, { message_id: "a-1", seq: 1, text: "was sent " });
    await page.waitForFunction(() => document.querySelector("#msg-a-1 .msg-text")?.textContent === "Your refund was sent on Friday.", null, { timeout: 5000 });
    // A repeated seq changes nothing (the first text wins).
    await emit("chat.delta", SESSION, { message_id: "a-1", seq: 1, text: "WAS NOT SENT " });
    await expect(page.locator("#msg-a-1 .typing").count()).resolves.toBe(1);

    await emit("chat.completed", SESSION, { message_id: "a-1" });
    await page.locator("#msg-a-1 .typing").waitFor({ state: "detached", timeout: 5000 });
    await expect(answerText("a-1")).resolves.toBe("Your refund was sent on Friday.");
    await expect(page.locator("#msg-a-1").getAttribute("aria-busy")).resolves.toBeNull();

    // Only the streamed message was re-rendered: the question is the same element, the draft intact.
    await expect(user.evaluate((el) => (el as any).__kept)).resolves.toBe(true);
    await expect(page.inputValue("#chat-text")).resolves.toBe("a draft in progress");
    await page.fill("#chat-text", "");
  });

  it("shows a tool run's progress and output, and cancels it through the agent", async () => {
    await send("Which carrier has the parcel?");
    const question = (await nextCommand("chat.message")).data.message_id as string;
    await page.locator(`#msg-${question}`).waitFor({ timeout: 5000 });

    await emit("tool.started", "t-track", { session_id: SESSION, message_id: "a-2", reply_to: question, name: "track_parcel", input: { order: 1042 } });
    const run = page.locator("#tool-t-track");
    await run.waitFor({ timeout: 5000 });
    await expect(page.locator("#msg-a-2 #tool-t-track").count()).resolves.toBe(1);
    const lines = Array.from({ length: 30 }, (_, i) => `checking hub ${i + 1}\n`).join("");
    await emit("tool.progress", "t-track", { progress: 0.4, output: lines });
    await page.waitForFunction(() => document.querySelector('#tool-t-track [role="progressbar"]')?.getAttribute("aria-valuenow") === "40", null, { timeout: 5000 });
    await expect(run.locator("pre.tool-output").textContent()).resolves.toContain("checking hub 30");
    // The output is kept scrolled to its end.
    await page.waitForFunction(() => {
      const pre = document.querySelector("#tool-t-track pre.tool-output") as HTMLElement | null;
      return !!pre && pre.scrollHeight > pre.clientHeight && pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 2;
    }, null, { timeout: 5000 });
    await emit("chat.delta", SESSION, { message_id: "a-2", seq: 0, text: "Let me look that up." });
    await page.waitForFunction(() => document.querySelector("#msg-a-2 .msg-text")?.textContent === "Let me look that up.", null, { timeout: 5000 });
    await page.screenshot({ path: resolve(ARTIFACTS, "chat-session-laptop.png"), fullPage: true });

    // The press's answer (the run as it was after the command) is held back on its way to the page.
    const answer = await holdAnswer(page, "**/tools/t-track/cancel");
    await run.locator("button", { hasText: "Cancel" }).click();
    const cancel = await nextCommand("tool.cancel_requested");
    expect(cancel).toMatchObject({ subject: "t-track", data: { worker: AGENT } });
    // The page stream shows the request.
    await run.locator(".cancel-pending", { hasText: "cancel requested…" }).waitFor({ timeout: 5000 });

    await emit("tool.cancelled", "t-track", { reason: "stopped by the operator" });
    await run.locator(".badge.cancelled").waitFor({ timeout: 5000 });
    // The answer lands after the agent's: the page, already past it, keeps the run cancelled.
    await expect.poll(() => answer.held(), { timeout: 10_000 }).toBe(true);
    await answer.release();
    await expect(run.locator(".badge.cancelled").count()).resolves.toBe(1);
    await expect(run.locator(".cancel-pending").count()).resolves.toBe(0);
    await expect(run.locator("button").count()).resolves.toBe(0);
  });

  it("renders event data as text, never as markup", async () => {
    const script = "<script>window.__pwned = 1</script>";
    const img = '<img src=x onerror="window.__pwned=1">';
    await send(`Is this safe? ${img}`);
    const question = (await nextCommand("chat.message")).data.message_id as string;
    await emit("chat.delta", SESSION, { message_id: "a-3", reply_to: question, seq: 0, text: `Quoting: ${script} and ${img}` });
    await emit("tool.started", "t-echo", { session_id: SESSION, message_id: "a-3", name: `echo ${img}` });
    await emit("tool.progress", "t-echo", { progress: 0.5, output: `${script}\n${img}\n` });
    await emit("chat.error", SESSION, { message_id: "a-3", reason: `upstream said ${script}` });

    await page.locator("#msg-a-3 .msg-error").waitFor({ timeout: 5000 });
    await page.locator("#tool-t-echo pre.tool-output").waitFor({ timeout: 5000 });
    await expect(page.locator(`#msg-${question} .msg-text`).textContent()).resolves.toBe(`Is this safe? ${img}`);
    await expect(answerText("a-3")).resolves.toBe(`Quoting: ${script} and ${img}`);
    await expect(page.locator("#tool-t-echo pre.tool-output").textContent()).resolves.toBe(`${script}\n${img}\n`);
    await expect(page.locator("#tool-t-echo .tool-name").textContent()).resolves.toBe(`echo ${img}`);
    await expect(page.locator("#msg-a-3 .msg-error").textContent()).resolves.toContain(`upstream said ${script}`);
    await expect(page.locator("#transcript img, #transcript script").count()).resolves.toBe(0);
    await expect(page.evaluate(() => (window as any).__pwned)).resolves.toBeUndefined();

    // A reload renders the same from state (the page, not the stream), still as text.
    await page.reload();
    await waitLive(page);
    await expect(answerText("a-3")).resolves.toBe(`Quoting: ${script} and ${img}`);
    await expect(page.evaluate(() => (window as any).__pwned)).resolves.toBeUndefined();
    // The newest message is in view.
    await page.waitForFunction(() => {
      const box = document.getElementById("transcript")!;
      return box.scrollTop + box.clientHeight >= box.scrollHeight - 2;
    }, null, { timeout: 5000 });
    await page.screenshot({ path: resolve(ARTIFACTS, "chat-session-laptop-end.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => {
      const box = document.getElementById("transcript")!;
      return box.scrollTop + box.clientHeight >= box.scrollHeight - 2;
    }, null, { timeout: 5000 });
    await page.screenshot({ path: resolve(ARTIFACTS, "chat-session-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1366, height: 860 });
  });
});
