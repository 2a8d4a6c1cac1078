import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, startTestServer, type TestServer } from "../support/server.js";
import { launchBrowser, signIn, waitLive } from "./browser.js";
import { LAPTOP, PHONE, shootPage } from "./shots.js";

/** Workflows in every state, channels and agents: what an operator's lists hold in the middle of a day. */
function day() {
  const stages = ["import", "enrich", "notify"];
  const events: Record<string, unknown>[] = [];
  const names = ["Onboard Northwind", "Nightly billing run", "Re-index knowledge base", "Sync CRM contacts — Globex", "Export call recordings"];
  for (let i = 0; i < 12; i++) {
    const id = `wf-day-${i}`;
    events.push({ type: "workflow.started", subject: id, data: { name: names[i % names.length], stages, worker: "runner-1", stage: "import", task: "Queued" } });
    events.push({ type: "workflow.progress", subject: id, data: { progress: 0.1 + (i % 7) / 10, stage: stages[i % 3], task: `Working on item ${i * 137} of 2,400` } });
    if (i % 4 === 1) events.push({ type: "workflow.failed", subject: id, data: { reason: "Enrichment API timed out after 30 s (HTTP 504)", retryable: true } });
    if (i % 4 === 2) events.push({ type: "workflow.completed", subject: id });
    if (i === 3) events.push({ type: "workflow.cancelled", subject: id, data: { reason: "Wrong customer list uploaded" } });
    if (i === 7) events.push({ type: "workflow.paused", subject: id });
  }
  const platforms = ["whatsapp", "telegram", "slack", "sms", "email", "webchat"];
  for (let i = 0; i < 6; i++) {
    const id = `ch-${i}`;
    events.push({ type: "channel.connect_requested", subject: id, data: { platform: platforms[i], name: `${platforms[i]} support`, kind: "channels" } });
    if (i % 3 === 0) events.push({ type: "channel.connected", subject: id, data: { worker: "connector-1" } });
    if (i % 3 === 1) events.push({ type: "channel.failed", subject: id, data: { reason: "The bot token was rejected", worker: "connector-1" } });
    if (i % 3 === 2) events.push({ type: "channel.progress", subject: id, data: { step: 2, total: 4, label: "Verifying the webhook", worker: "connector-1" } });
  }
  const statuses = ["available", "busy", "error", "disconnected"];
  for (let i = 0; i < 8; i++) {
    const status = statuses[i % 4];
    events.push({
      type: "agent.status",
      subject: `agent-${i}`,
      data: { status, name: ["Ada", "Grace", "Linus", "Barbara", "Edsger", "Margaret", "Ken", "Frances"][i], capabilities: ["voice", "chat"].slice(0, 1 + (i % 2)), ...(status === "busy" && { execution_id: `ex-${i}` }), ...(status === "error" && { error: "SMTP relay refused the login" }) },
    });
  }
  return events;
}

describe("workflows, channels and agents lists: how they look", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    server = await startTestServer();
    expect((await publish(server, "demo", day())).status).toBe(201);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAPTOP });
    await signIn(page, server.url);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const shoot = async (path: string, name: string, ready: string) => {
    await page.goto(`${server.url}/t/demo${path}`);
    await waitLive(page);
    await page.locator(ready).first().waitFor();
    await shootPage(page, name);
    for (const viewport of [LAPTOP, PHONE]) {
      await page.setViewportSize(viewport);
      // Nothing sticks out sideways.
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at ${viewport.width}`).toBeLessThanOrEqual(viewport.width);
    }
    await page.setViewportSize(LAPTOP);
  };

  it("the workflows list, a tab, and a workflow's page", async () => {
    await shoot("/workflows", "workflows-list", "article.workflow");
    await shoot("/workflows?state=failed", "workflows-failed", 'article.workflow[data-state="failed"]');
    await page.goto(`${server.url}/t/demo/workflows/wf-day-3`);
    await page.locator("#wf-timeline-items details").first().locator("summary").click();
    await shootPage(page, "workflow-page");
  });

  it("the channels and agents lists", async () => {
    await shoot("/channels", "channels-list", "li.channel-card");
    await shoot("/agents", "agents-list", "li.agent");
    await shoot("/agents?status=busy", "agents-busy", "li.agent");
  });
});
