import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandStream } from "../support/chat.js";
import { api, publish, startTestServer, type TestServer } from "../support/server.js";
import type { SseClient } from "../support/sse-client.js";
import { launchBrowser, signIn, waitLive } from "./browser.js";
import { LAPTOP, shootPage } from "./shots.js";

/** Opens a session through the API (the console's own form is tested elsewhere). */
async function openSession(server: TestServer, id: string, agent: string): Promise<void> {
  const opened = await api(server, "/api/v1/tenants/demo/sessions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, agent }),
  });
  expect(opened.status).toBe(201);
}

/** Sends a message from the session view's form; resolves once the form is back, cleared. */
async function send(page: Page, text: string): Promise<void> {
  await page.fill("#chat-text", text);
  await page.click("#chat-send button[type=submit]");
  await page.waitForFunction(() => (document.getElementById("chat-text") as HTMLTextAreaElement | null)?.value === "", null, { timeout: 5000 });
}

const notice = (page: Page) => page.locator(".msg.user .msg-notice");

/**
 * A message to an agent that is unknown or offline tells the operator so,
 * as workflow controls do: pending while its agent is connected, offline
 * (or unknown) while it is not, expired when nobody answered in time, and
 * gone once the agent answers.
 */
describe("console: chat to an agent that is not there", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let agent: SseClient | undefined;
  beforeAll(async () => {
    // Long enough that nothing expires here; the agent is offline the moment its stream drops.
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "600000", PRESENCE_GRACE_MS: "0" });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAPTOP });
    await signIn(page, server.url);
  });
  afterAll(async () => {
    agent?.close();
    await browser?.close();
    await server?.dispose();
  });

  it("says no such agent has connected, then waiting once it connects, offline when it leaves, and nothing once it answers", async () => {
    await openSession(server, "s-ghost", "ghost-bot");
    await page.goto(`${server.url}/t/demo/sessions/s-ghost`);
    await waitLive(page);
    await send(page, "Is anyone there?");
    await notice(page).filter({ hasText: "Waiting for ghost-bot — no agent of that name has connected" }).waitFor({ timeout: 10_000 });
    await expect(notice(page).getAttribute("class")).resolves.toContain("offline");
    await shootPage(page, "chat-unknown-agent");

    // A worker resumes its command stream from the last command it handled: here, from the start.
    agent = await commandStream(server, "ghost-bot", { "last-event-id": "0" });
    await notice(page).filter({ hasText: "Sent — waiting for ghost-bot to answer…" }).waitFor({ timeout: 10_000 });
    await expect(notice(page).getAttribute("class")).resolves.toContain("pending");
    const command = await agent.until((c) => c.messages.some((m) => m.event === "chat.message")).then(() => JSON.parse(agent!.messages.find((m) => m.event === "chat.message")!.data));

    agent.close();
    await notice(page).filter({ hasText: "Waiting for ghost-bot — it is offline" }).waitFor({ timeout: 10_000 });
    await shootPage(page, "chat-offline-agent");

    const reply = await publish(server, "demo", { type: "chat.delta", subject: "s-ghost", data: { message_id: "a-1", reply_to: command.data.message_id, seq: 0, text: "Here now." } });
    expect(reply.status).toBe(201);
    await page.locator("#msg-a-1 .msg-text", { hasText: "Here now." }).waitFor({ timeout: 10_000 });
    await expect(notice(page).count()).resolves.toBe(0);
  });
});

describe("console: a chat message nobody answers", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "1000" });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAPTOP });
    await signIn(page, server.url);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("expires, and the page says it was not answered", async () => {
    await openSession(server, "s-void", "void-bot");
    await page.goto(`${server.url}/t/demo/sessions/s-void`);
    await waitLive(page);
    await send(page, "Hello?");
    await notice(page).filter({ hasText: "Not answered: void-bot did not answer in time" }).waitFor({ timeout: 15_000 });
    await expect(notice(page).getAttribute("class")).resolves.toContain("expired");
    await shootPage(page, "chat-expired");
  });
});
