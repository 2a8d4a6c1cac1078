import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, startTestServer, type TestServer } from "../support/server.js";
import { ARTIFACTS, launchBrowser, signIn, waitLive } from "./browser.js";

const stat = (page: Page, name: string) => page.locator(`[data-stat="${name}"]`).textContent();
const topicCount = (page: Page, topic: string) => page.locator(`#stats li[data-topic="${topic}"] [data-count]`).textContent();

describe("console: stats page", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    page = await context.newPage();
    await signIn(page, server.url);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("shows open streams, the event rate, the tenant's log and its topics, and keeps them current", async () => {
    // Another tenant's events are not counted.
    await publish(server, "demo", [
      ...Array.from({ length: 3 }, (_, i) => ({ type: "call.started", subject: `c-${i}`, data: { direction: "inbound", number: "+14155550100" } })),
      ...Array.from({ length: 5 }, (_, i) => ({ type: "deploy.step", subject: `d-${i}`, data: { message: "ok" } })),
      { type: "deploy.finished", subject: "d" },
    ]);
    // A console open elsewhere is one open stream.
    const other = await page.context().newPage();
    await other.goto(`${server.url}/t/demo`);
    await waitLive(other);

    await page.goto(`${server.url}/t/demo/stats`);
    await expect(stat(page, "retained")).resolves.toBe("9");
    await expect(topicCount(page, "deploy")).resolves.toBe("6");
    await expect(topicCount(page, "call")).resolves.toBe("3");
    // Biggest topic first.
    await expect(page.locator("#stats li[data-topic]").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-topic")))).resolves.toEqual(["deploy", "call"]);
    expect(Number(await stat(page, "streams"))).toBeGreaterThanOrEqual(1);
    expect(Number(await stat(page, "rate"))).toBeGreaterThan(0);
    // A page without a stream shows no connection state.
    await expect(page.locator("#connection").isHidden()).resolves.toBe(true);
    await page.screenshot({ path: resolve(ARTIFACTS, "stats.png"), fullPage: true });

    // The page polls its partial: new events show up without a reload.
    await publish(server, "demo", Array.from({ length: 4 }, (_, i) => ({ type: "agent.status", subject: `a-${i}`, data: { status: "available" } })));
    await page.waitForFunction(() => document.querySelector('[data-stat="retained"]')?.textContent === "13", null, { timeout: 12_000 });
    await expect(topicCount(page, "agent")).resolves.toBe("4");
    await other.close();

    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: resolve(ARTIFACTS, "stats-phone.png"), fullPage: true });
  });
});
