import { resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SseClient } from "../support/sse-client.js";
import { publish, startTestServer, type TestServer } from "../support/server.js";
import { ARTIFACTS, launchBrowser, signIn, waitLive } from "./browser.js";
import { revokeKey, tenantKey } from "../support/tenants.js";

describe("console: tenant isolation and sessions", () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let acme: { id: string; secret: string };
  const cookieHeader = async () => (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");

  beforeAll(async () => {
    server = await startTestServer();
    acme = await tenantKey(server, "acme", ["read"]);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("a tenant key's console and stream never show another tenant's data", async () => {
    await publish(server, "demo", [
      { type: "call.started", subject: "demo-call-1", data: { direction: "inbound", number: "+14155550001", agent: "demo-agent" } },
      { type: "deploy.note", subject: "demo-secret-1", data: { message: "demo only" } },
    ]);
    await publish(server, "acme", { type: "deploy.note", subject: "acme-1", data: { message: "acme visible" } });
    await signIn(page, server.url, acme.secret);
    expect(new URL(page.url()).pathname).toBe("/t/acme");
    await waitLive(page);
    await page.locator("#feed-items li", { hasText: "acme-1" }).waitFor();

    // Live: demo's events never arrive, acme's do.
    await publish(server, "demo", { type: "call.started", subject: "demo-call-2", data: { direction: "inbound", number: "+14155550002" } });
    const last = await publish(server, "acme", { type: "call.started", subject: "acme-call", data: { direction: "outbound", number: "+14155550003" } });
    // (New feed items may wait behind the "N new" button: attached is enough.)
    await page.locator("#feed-items li", { hasText: "•••0003" }).waitFor({ state: "attached", timeout: 5000 });
    const text = await page.locator("main").textContent();
    expect(text).not.toMatch(/demo/);
    // Its calls list shows its own calls only.
    await page.goto(`${server.url}/t/acme/calls`);
    await waitLive(page);
    await expect(page.locator("#calls-rows li[data-call]").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-call")))).resolves.toEqual(["acme-call"]);
    await page.goto(`${server.url}/t/acme`);
    await waitLive(page);
    // A tenant key has no switcher and no all-tenants link.
    await expect(page.locator("#tenant-switch, a[href='/admin']").count()).resolves.toBe(0);
    await expect(page.locator(".tenant-name").textContent()).resolves.toBe("acme");

    // Its stream, read raw from the start of the log, carries acme's events only.
    const raw = await SseClient.open(`${server.url}/t/acme/live?after=0`, { cookie: await cookieHeader() });
    try {
      expect(raw.status).toBe(200);
      await raw.until((c) => c.ids().includes(last.body.ids[0]));
      expect(raw.messages.map((m) => m.data).join("\n")).not.toMatch(/demo/);
    } finally {
      raw.close();
    }
  });

  it("refuses another tenant's pages and stream, and the all-tenants view, with 403", async () => {
    const headers = { cookie: await cookieHeader() };
    for (const path of ["/t/demo", "/t/demo/live", "/t/demo/stats", "/t/demo/calls", "/t/demo/live/calls", "/t/demo/calls/demo-call-1", "/t/demo/calls/demo-call-1/live", "/t/demo/sessions", "/t/demo/live/sessions", "/admin", "/admin/live"]) {
      const res = await fetch(server.url + path, { headers, redirect: "manual" });
      expect([path, res.status]).toEqual([path, 403]);
      expect(await res.text()).not.toMatch(/demo-call|demo-secret/);
    }
  });

  it("refuses a form POST without the CSRF token", async () => {
    const csrf = await page.getAttribute("form.logout input[name=_csrf]", "value");
    const post = (form: Record<string, string>) =>
      page.request.post(`${server.url}/t/acme/nothing-here`, { form, headers: { origin: server.url }, maxRedirects: 0 });
    const without = await post({ note: "x" });
    expect(without.status()).toBe(403);
    expect(await without.text()).toMatch(/CSRF/);
    // The same post with the page's token passes the check (and finds no such route).
    expect((await post({ note: "x", _csrf: csrf! })).status()).toBe(404);
  });

  it("signing out ends the session everywhere: another tab of it goes to the login; console pages send to the login", async () => {
    const otherTab = await context.newPage();
    await otherTab.goto(`${server.url}/t/acme`);
    await waitLive(otherTab);
    await Promise.all([page.waitForURL(/\/login$/), page.click("form.logout button")]);
    // The other tab's stream ends with the session; the page reloads and lands on the login.
    await otherTab.waitForURL(/\/login\?next=%2Ft%2Facme$/, { timeout: server.config.ACCESS_CHECK_MS + 10_000 });
    await otherTab.close();
    await page.goto(`${server.url}/t/acme/stats`);
    expect(new URL(page.url()).pathname).toBe("/login");
    expect(new URL(page.url()).searchParams.get("next")).toBe("/t/acme/stats");
    const live = await fetch(`${server.url}/t/acme/live`, { headers: { cookie: await cookieHeader() } });
    expect(live.status).toBe(401);
  });

  it("a bad key re-renders the login with a message", async () => {
    await page.goto(`${server.url}/login`);
    await page.fill("#key", "not-a-key");
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/login") && r.request().method() === "POST"), page.click("button[type=submit]")]);
    expect(res.status()).toBe(401);
    await expect(page.locator(".login .error").textContent()).resolves.toMatch(/unknown or revoked/);
    await expect(page.locator("#key").count()).resolves.toBe(1);
    await page.screenshot({ path: resolve(ARTIFACTS, "login-error.png") });
  });

  it("revoking the key ends its session, open page included", async () => {
    await signIn(page, server.url, acme.secret);
    await waitLive(page);
    await revokeKey(server, acme.id);
    // The open stream is dropped at the next check; the page, reconnecting, is sent to the login.
    await page.waitForURL(/\/login/, { timeout: server.config.ACCESS_CHECK_MS + 10_000 });
    await page.goto(`${server.url}/t/acme`);
    expect(new URL(page.url()).pathname).toBe("/login");
  });
});
