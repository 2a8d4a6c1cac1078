import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";

/** Screenshots of the main pages, kept for a person to look at (git-ignored). */
export const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), "../artifacts");

/**
 * Debian's Chromium, headless, driven by playwright-core. The flags keep it
 * off the network (this machine has none) and out of the sandbox (tests run
 * as root in CI).
 */
export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Signs in through the login form, as an operator would, and lands on the console. */
export async function signIn(page: Page, baseUrl: string, key = ADMIN_KEY): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill("#key", key);
  await Promise.all([page.waitForURL(/\/t\//), page.click("button[type=submit]")]);
}

/** Waits until the page's stream is connected (the indicator says live); `timeout` only guards against a hang. */
export async function waitLive(page: Page, timeout = 10_000): Promise<void> {
  await page.waitForSelector('#connection[data-state="live"]', { timeout });
}

/**
 * Holds back the page's answers to requests matching `url` (a press's
 * answer, made when its command committed) until `release`, so a test can
 * let the page stream move on first. `release` hands the answer to the page,
 * resolves once htmx has finished with it, and stops holding.
 */
export async function holdAnswer(page: Page, url: string): Promise<{ held(): boolean; release(): Promise<void> }> {
  let fulfil: (() => Promise<void>) | null = null;
  await page.route(url, async (route) => {
    const response = await route.fetch();
    fulfil = () => route.fulfill({ response });
  });
  await page.evaluate(() => {
    const w = window as unknown as { __answered: number };
    w.__answered = 0;
    document.addEventListener("htmx:finally:request", () => w.__answered++);
  });
  return {
    held: () => fulfil !== null,
    async release() {
      await fulfil!();
      await page.waitForFunction(() => (window as unknown as { __answered: number }).__answered > 0, null, { timeout: 10_000 });
      await page.unroute(url);
    },
  };
}

/** A real server, a browser and a signed-in console page, for one test file. */
export interface ConsoleFixture {
  server: TestServer;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/**
 * Starts a server (with `env`), lets `seed` publish what the page should
 * show when it first renders, opens a laptop-sized page, signs in and waits
 * until its stream is live.
 */
export async function openConsole(options: { env?: Record<string, string>; seed?: (server: TestServer) => Promise<void> } = {}): Promise<ConsoleFixture> {
  const server = await startTestServer(options.env);
  await options.seed?.(server);
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  await signIn(page, server.url);
  await waitLive(page);
  return {
    server,
    browser,
    page,
    async close() {
      await browser.close();
      await server.dispose();
    },
  };
}
