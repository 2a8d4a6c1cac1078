import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "../support/server.js";
import { selfSignedCertificate } from "../support/tls.js";
import { launchBrowser, signIn, waitLive } from "./browser.js";
import { shootPage } from "./shots.js";

const TABS = 8;

/** Counts, in the page, the ids of the stream messages it receives from now on. */
const recordMessages = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __ids: string[] };
    w.__ids = [];
    document.addEventListener("htmx:sse:after:message", (e) => w.__ids.push((e as CustomEvent).detail.message.id));
  });
const receivedIds = (page: Page) => page.evaluate(() => (window as unknown as { __ids: string[] }).__ids.map(Number));

describe("console over HTTP/2: more tabs than HTTP/1.1's six connections", () => {
  let dir: string;
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-tls-"));
    server = await startTestServer(selfSignedCertificate(dir).env);
    browser = await launchBrowser();
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1366, height: 860 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`opens ${TABS} tabs of the console, each live over one h2 connection, and every one gets the next update`, async () => {
    const first = await context.newPage();
    await signIn(first, server.url);
    await waitLive(first);
    const pages = [first];
    for (let i = 1; i < TABS; i++) {
      const page = await context.newPage();
      await page.goto(`${server.url}/t/demo`);
      await waitLive(page);
      pages.push(page);
    }
    for (const page of pages) {
      expect(await page.evaluate(() => (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).nextHopProtocol)).toBe("h2");
      await recordMessages(page);
    }
    // Published through the browser's context, which trusts the test's certificate.
    const res = await context.request.post(`${server.url}/api/v1/tenants/demo/events`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      data: { type: "call.started", subject: "c-tabs", data: { direction: "inbound", number: "+14155554242" } },
    });
    expect(res.status()).toBe(201);
    const id = ((await res.json()) as { ids: number[] }).ids[0];
    for (const page of pages) {
      await expect.poll(() => receivedIds(page), { timeout: 10_000 }).toContain(id);
      await page.locator("main", { hasText: "•••4242" }).waitFor({ timeout: 10_000 });
    }
  });
});

describe("console: a page whose stream cannot be opened", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    await signIn(page, server.url);
    await waitLive(page);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const banner = () => page.locator("#live-unavailable");
  // The page retries with a growing delay (up to 10 s): allow for a whole one after the stream is let through.
  const goesLive = () => page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });

  /** Reloads the console with its stream answered by `handler` until the returned function lifts it. */
  async function withStream(handler: (route: Route) => unknown): Promise<() => Promise<void>> {
    const live = /\/t\/demo\/live/;
    await page.route(live, handler);
    await page.goto(`${server.url}/t/demo`);
    return () => page.unroute(live);
  }

  it("says so when the connection is refused, keeps trying, and goes live once it can", async () => {
    const lift = await withStream((route) => route.abort("connectionrefused"));
    await banner().waitFor({ state: "visible", timeout: 10_000 });
    await expect(banner().textContent()).resolves.toContain("Live updates unavailable — retrying");
    await shootPage(page, "live-unavailable");
    await expect(page.getAttribute("#connection", "data-state")).resolves.not.toBe("live");
    await lift();
    await goesLive();
    await expect(banner().isHidden()).resolves.toBe(true);
    // Live for real: an update published now arrives.
    await publish(server, "demo", { type: "call.started", subject: "c-back", data: { direction: "inbound", number: "+14155557777" } });
    await page.locator("main", { hasText: "•••7777" }).waitFor({ timeout: 10_000 });
  });

  it("says so when the stream is answered with an error", async () => {
    const lift = await withStream((route) => route.fulfill({ status: 503, contentType: "application/json", body: '{"error":"unavailable"}' }));
    await banner().waitFor({ state: "visible", timeout: 10_000 });
    await lift();
    await goesLive();
    await expect(banner().isHidden()).resolves.toBe(true);
  });

  it("says so when the stream does not answer at all, instead of hanging on connecting…", async () => {
    const held: Route[] = [];
    const lift = await withStream((route) => void held.push(route));
    await banner().waitFor({ state: "visible", timeout: 15_000 });
    await expect(page.getAttribute("#connection", "data-state")).resolves.not.toBe("live");
    await lift();
    for (const route of held) await route.abort().catch(() => {});
    await goesLive();
    await expect(banner().isHidden()).resolves.toBe(true);
  });
});
