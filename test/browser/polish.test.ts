import type { Browser, BrowserContext, Page, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { query } from "../support/database.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "../support/server.js";
import { createKey, createTenant } from "../support/tenants.js";
import { launchBrowser, signIn, waitLive } from "./browser.js";
import { LAPTOP, shootPage } from "./shots.js";

/** The relative luminance of a CSS rgb() colour, 0 (black) to 1 (white). */
function luminance(css: string): number {
  const [r, g, b] = (css.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => Number(v) / 255);
  const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** A tenant's sections in the top bar's navigation. */
const SECTIONS = ["Overview", "Calls", "Workflows", "Chat", "Channels", "Agents", "Mercure", "Activity", "Stats"];

/** The top bar as a signed-in operator sees it: its navigation links and the sign-out button. */
async function topBar(page: Page): Promise<{ links: string[]; signOut: boolean }> {
  return {
    links: await page.locator("header.topbar nav a").allTextContents(),
    signOut: await page.locator("header.topbar form.logout button").isVisible(),
  };
}

describe("console polish", () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let acmeKey: string;
  const dir = mkdtempSync(join(tmpdir(), "switchboard-polish-"));
  beforeAll(async () => {
    server = await startTestServer({}, dir);
    await publish(server, "demo", [
      { type: "call.started", subject: "c-1", data: { direction: "inbound", number: "+14155550123", agent: "ada" } },
      { type: "agent.status", subject: "ada", data: { status: "busy", name: "Ada" } },
      { type: "workflow.started", subject: "wf-1", data: { name: "Nightly export", stages: ["extract", "load"], worker: "runner-1" } },
    ]);
    // A tenant of its own, with a key bound to it; and one whose stored state is broken, for a 500.
    await createTenant(server, "broken");
    await query(server, "insert into workflows (tenant, workflow_id, name, stages, state, started_at, updated_at, event_id) values ('broken', 'wf-bad', 'Bad', 'not json', 'running', 0, 0, 1)");
    // Found broken as the server starts (a PostgreSQL node reads its projections from a copy made at start).
    await server.close();
    server = await startTestServer({}, dir);
    acmeKey = (await createKey(server, { tenant: "acme", scopes: ["read"], label: "acme reader" })).secret;
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: LAPTOP });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("signs in from a login link opened in a tab that shows the login already", async () => {
    await page.goto(`${server.url}/login`);
    await page.locator("#key").waitFor();
    // Pasting /login#key=… into that tab changes only the fragment: no page load, a hashchange.
    // An admin key lands on the first tenant's console.
    await Promise.all([page.waitForURL(/\/t\/acme$/), page.evaluate((key) => (location.hash = `key=${encodeURIComponent(key)}`), ADMIN_KEY)]);
    await waitLive(page);
    // The key went nowhere near the address bar's history.
    expect(page.url()).not.toContain("key=");
  });

  it("serves a favicon: no 404 while the console loads", async () => {
    const missing: string[] = [];
    const onResponse = (res: Response) => void (res.status() === 404 && missing.push(res.url()));
    page.on("response", onResponse);
    await page.goto(`${server.url}/t/demo`);
    await waitLive(page);
    const icon = await page.request.get(`${server.url}/favicon.ico`);
    page.off("response", onResponse);
    expect(missing).toEqual([]);
    expect(icon.status()).toBe(200);
    expect(icon.headers()["content-type"]).toBe("image/x-icon");
    // An ICO header (reserved 0, type 1) holding PNG images.
    const bytes = await icon.body();
    expect([...bytes.subarray(0, 4)]).toEqual([0, 0, 1, 0]);
    expect(bytes.includes(Buffer.from([0x89, 0x50, 0x4e, 0x47]))).toBe(true);
    expect(await page.locator('link[rel="icon"]').evaluateAll((links) => links.map((l) => (l as HTMLLinkElement).getAttribute("href")))).toEqual([
      "/favicon.svg",
      "/favicon.ico",
    ]);
    const svg = await page.request.get(`${server.url}/favicon.svg`);
    expect(svg.headers()["content-type"]).toBe("image/svg+xml");
  });

  it("shows the full time when hovering a relative one", async () => {
    await page.goto(`${server.url}/t/demo`);
    await waitLive(page);
    const time = page.locator("time[data-relative]").first();
    await expect.poll(() => time.getAttribute("title")).toBeTruthy();
    const [title, iso] = await Promise.all([time.getAttribute("title"), time.getAttribute("datetime")]);
    const local = await page.evaluate((at) => new Date(at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }), iso!);
    expect(title).toBe(`${local}\n${iso}`);
    // A time rendered live gets its title as well.
    await publish(server, "demo", { type: "call.started", subject: "c-2", data: { direction: "outbound", number: "+14155550999", agent: "ada" } });
    const live = page.locator("#feed-items > li", { hasText: "•••0999" }).locator("time[datetime]").first();
    await expect.poll(() => live.getAttribute("title"), { timeout: 10_000 }).toContain(await live.getAttribute("datetime"));
  });

  it("keeps the top bar on error pages: 404, 403 and 500", async () => {
    const expectTopBar = async (res: Response | null, status: number, text: string, links: string[]) => {
      expect(res?.status()).toBe(status);
      await expect(page.locator("main").textContent()).resolves.toContain(text);
      expect(await topBar(page)).toEqual({ links, signOut: true });
    };
    await expectTopBar(await page.goto(`${server.url}/t/demo/no-such-page`), 404, "There is no page at /t/demo/no-such-page.", [...SECTIONS, "All tenants"]);
    await shootPage(page, "error-404");
    await expectTopBar(await page.goto(`${server.url}/t/nowhere`), 404, 'There is no tenant "nowhere".', ["All tenants"]);
    await expectTopBar(await page.goto(`${server.url}/t/demo/workflows/wf-none`), 404, 'There is no workflow "wf-none".', [...SECTIONS, "All tenants"]);
    await expectTopBar(await page.goto(`${server.url}/t/broken/workflows/wf-bad`), 500, "Something went wrong on our side", [...SECTIONS, "All tenants"]);
    await shootPage(page, "error-500");

    // Another tenant's key: refused, with its own tenant in the bar.
    const other = await browser.newPage({ viewport: LAPTOP });
    await signIn(other, server.url, acmeKey);
    const refused = await other.goto(`${server.url}/t/demo`);
    expect(refused?.status()).toBe(403);
    await expect(other.locator("main").textContent()).resolves.toContain('Your key cannot see tenant "demo".');
    expect(await other.locator("header.topbar nav a").allTextContents()).toEqual(SECTIONS);
    expect(await other.locator("header.topbar nav a").first().getAttribute("href")).toBe("/t/acme");
    await shootPage(other, "error-403");
    await other.close();

    // API clients still get JSON.
    const api = await page.request.get(`${server.url}/api/v1/tenants/demo/nothing`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(api.status()).toBe(404);
    expect(await api.json()).toEqual({ error: "not_found", message: "no route for GET /api/v1/tenants/demo/nothing" });
  });

  it("follows the system's dark mode", async () => {
    await page.goto(`${server.url}/t/demo`);
    await waitLive(page);
    const colours = () => page.evaluate(() => ({ bg: getComputedStyle(document.documentElement).backgroundColor, ink: getComputedStyle(document.body).color, card: getComputedStyle(document.querySelector(".card")!).backgroundColor }));
    await page.emulateMedia({ colorScheme: "light" });
    const light = await colours();
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await colours();
    await page.emulateMedia({ colorScheme: "light" });
    expect(luminance(light.bg)).toBeGreaterThan(0.8);
    expect(luminance(light.ink)).toBeLessThan(0.05);
    expect(luminance(dark.bg)).toBeLessThan(0.02);
    expect(luminance(dark.card)).toBeLessThan(0.03);
    expect(luminance(dark.ink)).toBeGreaterThan(0.7);
    await shootPage(page, "console");
    // Every page follows it: each as it looks now, in both schemes.
    for (const [path, name] of [["/t/demo/workflows/wf-1", "workflow"], ["/t/demo/agents/ada", "agent"], ["/t/demo/stats", "stats"], ["/admin", "admin"]]) {
      await page.goto(server.url + path);
      await page.locator("main").waitFor();
      await shootPage(page, name);
    }
  });

  it("shows the login in the dark too", async () => {
    const fresh = await browser.newPage({ viewport: LAPTOP });
    await fresh.goto(`${server.url}/login`);
    await fresh.emulateMedia({ colorScheme: "dark" });
    const card = await fresh.locator(".login").evaluate((el) => getComputedStyle(el).backgroundColor);
    const field = await fresh.locator("#key").evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(luminance(card)).toBeLessThan(0.03);
    expect(luminance(field)).toBeLessThan(0.03);
    await shootPage(fresh, "login");
    await fresh.close();
  });
});
