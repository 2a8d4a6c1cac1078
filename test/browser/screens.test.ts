import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, startTestServer, type TestServer } from "../support/server.js";
import { ARTIFACTS, launchBrowser, signIn, waitLive } from "./browser.js";
import { PHONE as PHONE_SIZE, shootPage } from "./shots.js";

const LAPTOP = { width: 1366, height: 860 };
const PHONE = { width: 390, height: 844 };

/** A tenant in the middle of a working day: calls, agents, workflows and messages. */
const DAY = [
  { type: "agent.status", subject: "ada", data: { status: "available", name: "Ada (voice)" } },
  { type: "agent.status", subject: "grace", data: { status: "busy", name: "Grace (chat)", execution_id: "ex-42" } },
  { type: "agent.status", subject: "linus", data: { status: "error", name: "Linus (email)", error: "SMTP relay refused the login" } },
  { type: "call.started", subject: "c-1", data: { direction: "inbound", number: "+14155550123", agent: "ada", client: "northwind" } },
  { type: "call.ended", subject: "c-1", data: { duration_ms: 184_000, status: "completed" } },
  { type: "call.started", subject: "c-2", data: { direction: "outbound", number: "+442071838750", agent: "ada", client: "acme" } },
  { type: "call.ended", subject: "c-2", data: { duration_ms: 9_000, status: "no-answer" } },
  { type: "call.started", subject: "c-3", data: { direction: "inbound", number: "+14155550199", agent: "ada", client: "northwind" } },
  { type: "workflow.started", subject: "wf-onboard", data: { name: "Onboard Northwind", stages: ["import", "enrich", "notify"], worker: "w-1", stage: "enrich" } },
  { type: "workflow.progress", subject: "wf-onboard", data: { progress: 0.62, stage: "enrich", task: "Enriching 1,240 contacts" } },
  { type: "activity.message", data: { platform: "whatsapp", direction: "in", preview: "Hi, is my order on its way?", sender: "+14155550142", channel: "support" } },
  { type: "activity.message", data: { platform: "whatsapp", direction: "out", preview: "Yes! It left the warehouse this morning.", channel: "support" } },
  { type: "activity.message", data: { platform: "telegram", direction: "in", preview: "Can I change my delivery address?", sender: "@mira" } },
  { type: "deploy.finished", subject: "api", data: { message: "v2.14.0 is live" } },
];

/** What goes wrong in a day: a failed and a paused workflow, an agent gone, a channel refused, a chat nobody receives. */
const TROUBLE = [
  { type: "workflow.started", subject: "wf-export", data: { name: "Nightly CRM export", stages: ["extract", "load"], worker: "w-2" } },
  { type: "workflow.failed", subject: "wf-export", data: { reason: "CRM API answered 503 three times", retryable: true } },
  { type: "workflow.started", subject: "wf-survey", data: { name: "Customer survey mailing", stages: ["segment", "send"], worker: "w-1", stage: "send" } },
  { type: "workflow.paused", subject: "wf-survey", data: {} },
  { type: "agent.status", subject: "hopper", data: { status: "disconnected", name: "Hopper (sms)" } },
  { type: "channel.connect_requested", subject: "ch-sms", data: { platform: "sms", name: "US support line", kind: "sms-connector" } },
  { type: "channel.failed", subject: "ch-sms", data: { reason: "10DLC campaign registration is still pending" } },
  { type: "chat.message", subject: "s-refund", data: { message_id: "m-1", text: "Where is my refund?", agent: "nobody", worker: "nobody" } },
];

describe("console: how it looks", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    server = await startTestServer();
    for (const e of DAY) await publish(server, "demo", e);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAPTOP });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("login, console and admin pages on a laptop and a phone", async () => {
    await page.goto(`${server.url}/login`);
    await page.screenshot({ path: resolve(ARTIFACTS, "login.png") });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: resolve(ARTIFACTS, "login-phone.png") });
    await page.setViewportSize(LAPTOP);

    await signIn(page, server.url);
    await waitLive(page);
    await page.locator("#feed-items li", { hasText: "v2.14.0 is live" }).waitFor();
    await page.screenshot({ path: resolve(ARTIFACTS, "console.png") });
    await page.screenshot({ path: resolve(ARTIFACTS, "console-full.png"), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: resolve(ARTIFACTS, "console-phone.png") });
    await page.screenshot({ path: resolve(ARTIFACTS, "console-phone-full.png"), fullPage: true });
    // Nothing is wider than the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);

    await page.goto(`${server.url}/admin`);
    await waitLive(page);
    await page.screenshot({ path: resolve(ARTIFACTS, "admin-phone.png"), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  });

  it("the overview and the activity page, on a laptop and a phone, light and dark", async () => {
    await publish(server, "demo", TROUBLE);
    await page.setViewportSize(LAPTOP);
    for (const [path, name, ready] of [
      ["/t/demo", "overview", '#overview-attention li[data-kind="waiting"]'],
      ["/t/demo/feed", "activity", "#feed-items > li[data-id]"],
    ] as const) {
      await page.goto(`${server.url}${path}`);
      await waitLive(page);
      await page.locator(ready).first().waitFor();
      await shootPage(page, name);
      // Nothing is wider than the phone's screen.
      await page.setViewportSize(PHONE_SIZE);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE_SIZE.width);
      await page.setViewportSize(LAPTOP);
    }
  });
});
