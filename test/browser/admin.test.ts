import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, startTestServer, type TestServer } from "../support/server.js";
import { ARTIFACTS, launchBrowser, signIn, waitLive } from "./browser.js";
import { createKey, tenantKey } from "../support/tenants.js";

const call = (subject: string, client: string, number: string) => ({
  type: "call.started",
  subject,
  data: { direction: "inbound", number, agent: "ada", client },
});

describe("console: admin views", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    server = await startTestServer();
    await tenantKey(server, "acme");
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    await signIn(page, server.url);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("switches tenants with the switcher, and reaches the all-tenants view", async () => {
    await page.goto(`${server.url}/t/demo`);
    await Promise.all([page.waitForURL(/\/t\/acme$/), page.selectOption("#tenant-switch", "acme")]);
    await waitLive(page);
    await expect(page.locator("#tenant-switch").inputValue()).resolves.toBe("acme");
    await Promise.all([page.waitForURL(/\/admin$/), page.selectOption("#tenant-switch", "")]);
    await page.goto(`${server.url}/t/demo`);
    await Promise.all([page.waitForURL(/\/admin$/), page.click("nav a[href='/admin']")]);
    await expect(page.locator("nav a[href='/admin']").getAttribute("aria-current")).resolves.toBe("page");
  });

  it("gives an all-tenant key without the admin scope the tenants, but not the view across them", async () => {
    const { secret } = await createKey(server, { tenant: null, scopes: ["read"], label: "every tenant, no admin" });
    const context = await browser.newContext();
    try {
      const own = await context.newPage();
      await signIn(own, server.url, secret);
      await waitLive(own);
      await expect(own.locator("#tenant-switch option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).resolves.toEqual(["acme", "demo"]);
      await expect(own.locator("nav a[href='/admin']").count()).resolves.toBe(0);
      await Promise.all([own.waitForURL(/\/t\/acme$/), own.selectOption("#tenant-switch", "acme")]);
      await waitLive(own);
      const refused = await own.goto(`${server.url}/admin`);
      expect(refused?.status()).toBe(403);
      await expect(own.locator("main").textContent()).resolves.toContain("Only admin keys (bound to no tenant, with the admin scope) can see every tenant.");
    } finally {
      await context.close();
    }
  });

  it("shows every tenant's calls live, each with its tenant, and narrows to one client", async () => {
    await publish(server, "demo", call("d-1", "north", "+14155550101"));
    await publish(server, "acme", call("a-1", "south", "+14155550202"));
    await page.goto(`${server.url}/admin`);
    await waitLive(page);
    await expect(page.locator('#calls li[data-call="d-1"]').textContent()).resolves.toContain("demo");
    await expect(page.locator('#calls li[data-call="a-1"]').textContent()).resolves.toContain("acme");
    // Live, from both tenants; feed items name their tenant.
    await publish(server, "acme", call("a-2", "north", "+14155550303"));
    await page.locator('#calls li[data-call="a-2"]').waitFor({ timeout: 5000 });
    await expect(page.locator("#feed-items li", { hasText: "•••0303" }).locator(".tenant-tag").textContent()).resolves.toBe("acme");
    await publish(server, "acme", { type: "call.ended", subject: "a-1", data: { duration_ms: 42_000, status: "completed" } });
    await page.locator('#calls ul.recent li[data-call="a-1"]').waitFor({ timeout: 5000 });
    await page.screenshot({ path: resolve(ARTIFACTS, "admin.png"), fullPage: true });

    // Narrowed to client "north": the panel and the feed, rendered and live.
    await page.fill("#client", "north");
    await Promise.all([page.waitForURL(/\/admin\?client=north$/), page.click(".client-filter button[type=submit]")]);
    await waitLive(page);
    await expect(page.locator("#calls li[data-call]").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-call")).sort())).resolves.toEqual(["a-2", "d-1"]);
    await publish(server, "demo", call("d-south", "south", "+14155550404"));
    await publish(server, "demo", call("d-north", "north", "+14155550505"));
    await page.locator('#calls li[data-call="d-north"]').waitFor({ timeout: 5000 });
    // New feed items wait behind "N new" (the feed is on screen): received, held back.
    await page.locator("#feed-items li", { hasText: "•••0505" }).waitFor({ state: "attached", timeout: 5000 });
    await expect(page.locator('#calls li[data-call="d-south"]').count()).resolves.toBe(0);
    await expect(page.locator("#feed-items li", { hasText: "•••0404" }).count()).resolves.toBe(0);
    await expect(page.locator("#feed-items li", { hasText: "•••0202" }).count()).resolves.toBe(0);
  });
});
