import { resolve } from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import type { SseClient } from "../support/sse-client.js";
import { createKey } from "../support/tenants.js";
import { commandStream, received, send, untilConnected } from "../support/workflows.js";
import { ARTIFACTS, launchBrowser, signIn, waitLive } from "./browser.js";

const LAPTOP = { width: 1366, height: 860 };
const PHONE = { width: 390, height: 844 };

/** A workflow's card on the page. */
const card = (page: Page, id: string): Locator => page.locator(`article.workflow[data-workflow="${id}"]`);

/** Starts a workflow as its worker would. */
async function start(server: TestServer, id: string, worker: string, name = `Render ${id}`, stages = ["fetch", "render", "upload"]) {
  const res = await send(server, "started", id, { name, stages, worker, stage: stages[0] });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** Resolves once the worker's stream has received `action` for `subject`. */
async function commandFor(stream: SseClient, subject: string, action: string): Promise<void> {
  await stream.until(() => received(stream).some((c) => c.subject === subject && c.data.action === action), 5000);
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe("console: workflows", () => {
  let server: TestServer;
  let context: BrowserContext;
  let page: Page;
  let worker: SseClient;
  beforeAll(async () => {
    server = await startTestServer();
    worker = await commandStream(server, "render-1");
    await untilConnected(server, "render-1");
    context = await browser.newContext({ viewport: LAPTOP });
    page = await context.newPage();
    // Cancel asks first; the operator says yes.
    page.on("dialog", (d) => void d.accept().catch(() => undefined));
    await signIn(page, server.url);
    await page.goto(`${server.url}/t/demo/workflows`);
    await waitLive(page);
  });
  afterAll(async () => {
    worker?.close();
    await context?.close();
    await server?.dispose();
  });

  it("shows a started workflow live; progress moves the bar and the stepper", async () => {
    await start(server, "wf-render", "render-1", "Render trailer");
    const wf = card(page, "wf-render");
    await wf.waitFor({ timeout: 5000 });
    await expect(wf.locator(".badge").textContent()).resolves.toBe("running");
    await expect(wf.getByRole("progressbar").getAttribute("aria-valuenow")).resolves.toBe("0");
    await expect(wf.locator('.wf-step[aria-current="step"]').textContent()).resolves.toContain("fetch");

    await send(server, "progress", "wf-render", { progress: 0.42, stage: "render", task: "frame 12 of 40" });
    await wf.locator('[role="progressbar"][aria-valuenow="42"]').waitFor({ timeout: 5000 });
    await expect(wf.locator('.wf-step[aria-current="step"]').textContent()).resolves.toContain("render");
    await expect(wf.locator(".wf-step.done").allTextContents()).resolves.toEqual([expect.stringContaining("fetch")]);
    await expect(wf.locator(".wf-step.upcoming").allTextContents()).resolves.toEqual([expect.stringContaining("upload")]);
    await expect(wf.locator(".wf-task").textContent()).resolves.toContain("frame 12 of 40");
    await expect(wf.locator(".wf-worker").textContent()).resolves.toContain("(online)");
  });

  it("cancel: shows 'cancel requested…', the command reaches the worker, its confirmation shows", async () => {
    await start(server, "wf-cancel", "render-1", "Transcode batch 7");
    const wf = card(page, "wf-cancel");
    await wf.waitFor({ timeout: 5000 });
    // The press goes through htmx: the page stays (no navigation), the answer is the updated card.
    await page.evaluate(() => ((window as any).samePage = true));
    const asked = new Promise<string>((r) => page.once("dialog", (d) => r(d.message())));
    const post = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/workflows/wf-cancel/cancel"));
    await wf.getByRole("button", { name: "Cancel" }).click();
    await expect(asked).resolves.toContain("Cancel this workflow?");
    const res = await post;
    expect(res.status()).toBe(200);
    expect(await res.request().headerValue("hx-request")).toBe("true");
    expect(await res.text()).toMatch(/^<article id="wf-wf-cancel"[^]*cancel requested…/);
    await wf.locator(".wf-notice", { hasText: "cancel requested…" }).waitFor({ timeout: 5000 });
    await expect(page.evaluate(() => (window as any).samePage)).resolves.toBe(true);
    // While a control is pending, no other control can be pressed.
    await expect(wf.getByRole("button", { name: "Pause" }).isDisabled()).resolves.toBe(true);

    await commandFor(worker, "wf-cancel", "cancel");
    expect((await send(server, "cancelled", "wf-cancel", { reason: "operator cancelled" })).status).toBe(201);
    await card(page, "wf-cancel").and(page.locator('[data-state="cancelled"]')).waitFor({ timeout: 5000 });
    const done = card(page, "wf-cancel");
    await expect(done.locator(".badge").textContent()).resolves.toBe("cancelled");
    await expect(done.locator(".wf-notice").textContent()).resolves.toContain("cancelled: operator cancelled");
    // A cancelled workflow offers one thing: to run it again.
    await expect(done.locator(".wf-actions button").allTextContents()).resolves.toEqual(["Retry"]);
    // The cancelled tab counts it.
    await expect(page.locator('#workflow-tabs a[data-tab="cancelled"] .tab-count').textContent()).resolves.toBe("1");
  });

  it("pause → paused → resume → resumed, each confirmed by the worker", async () => {
    await start(server, "wf-pause", "render-1", "Nightly export");
    const wf = card(page, "wf-pause");
    await wf.waitFor({ timeout: 5000 });

    await wf.getByRole("button", { name: "Pause" }).click();
    await wf.locator(".wf-notice", { hasText: "pause requested…" }).waitFor({ timeout: 5000 });
    await expect(wf.locator(".badge").textContent()).resolves.toBe("running");
    await commandFor(worker, "wf-pause", "pause");
    await send(server, "paused", "wf-pause");
    await page.locator('article[data-workflow="wf-pause"][data-state="paused"]').waitFor({ timeout: 5000 });
    await expect(wf.locator(".badge").textContent()).resolves.toBe("paused");
    await expect(wf.locator(".wf-notice").count()).resolves.toBe(0);

    await wf.getByRole("button", { name: "Resume" }).click();
    await wf.locator(".wf-notice", { hasText: "resume requested…" }).waitFor({ timeout: 5000 });
    await commandFor(worker, "wf-pause", "resume");
    await send(server, "resumed", "wf-pause");
    await page.locator('article[data-workflow="wf-pause"][data-state="running"]').waitFor({ timeout: 5000 });
    await expect(wf.locator(".wf-notice").count()).resolves.toBe(0);
    await expect(wf.getByRole("button", { name: "Pause" }).isEnabled()).resolves.toBe(true);
  });

  it("a second operator's buttons work after live updates (each page posts its own CSRF token)", async () => {
    const other = await browser.newContext({ viewport: LAPTOP });
    try {
      const p = await other.newPage();
      await signIn(p, server.url);
      await p.goto(`${server.url}/t/demo/workflows`);
      await waitLive(p);
      // Rendered once for both pages' stream group: the forms inside carry the first page's token.
      await start(server, "wf-second", "render-1", "Second operator");
      const wf = card(p, "wf-second");
      await wf.waitFor({ timeout: 5000 });
      const own = await p.locator('form.logout input[name="_csrf"]').inputValue();
      expect(await wf.locator('input[name="_csrf"]').first().inputValue()).not.toBe(own);
      await wf.getByRole("button", { name: "Pause" }).click();
      await wf.locator(".wf-notice", { hasText: "pause requested…" }).waitFor({ timeout: 5000 });
      await card(page, "wf-second").locator(".wf-notice", { hasText: "pause requested…" }).waitFor({ timeout: 5000 });
      await commandFor(worker, "wf-second", "pause");
      await send(server, "paused", "wf-second");
      await p.locator('article[data-workflow="wf-second"][data-state="paused"]').waitFor({ timeout: 5000 });
    } finally {
      await other.close();
    }
  });

  it("shows why a workflow failed and whether it can be retried", async () => {
    await start(server, "wf-flaky", "render-1", "Upload to archive");
    await start(server, "wf-broken", "render-1", "Import spreadsheet");
    await send(server, "failed", "wf-flaky", { reason: "storage timed out", retryable: true });
    await send(server, "failed", "wf-broken", { reason: "row 4: bad date", retryable: false });
    await page.locator('article[data-workflow="wf-broken"][data-state="failed"]').waitFor({ timeout: 5000 });
    await expect(card(page, "wf-flaky").locator(".wf-notice").textContent()).resolves.toMatch(/storage timed out.*retryable: yes/s);
    await expect(card(page, "wf-broken").locator(".wf-notice").textContent()).resolves.toMatch(/row 4: bad date.*retryable: no/s);
    await expect(card(page, "wf-broken").locator(".wf-step.stopped").textContent()).resolves.toContain("fetch");
  });

  it("a control for an offline worker says so; a refused press (409) is a readable message on the card", async () => {
    await start(server, "wf-ghost", "ghost-7", "Reindex search");
    const wf = card(page, "wf-ghost");
    await wf.waitFor({ timeout: 5000 });
    await expect(wf.locator(".wf-worker").textContent()).resolves.toContain("(offline)");
    await wf.getByRole("button", { name: "Pause" }).click();
    await wf.locator(".wf-notice", { hasText: "waiting for the worker — it is offline" }).waitFor({ timeout: 5000 });

    // A press that raced another operator's: the button was enabled on a stale page.
    await wf.getByRole("button", { name: "Cancel" }).evaluate((b) => b.removeAttribute("disabled"));
    await wf.getByRole("button", { name: "Cancel" }).click();
    const alert = card(page, "wf-ghost").getByRole("alert");
    await alert.waitFor({ timeout: 5000 });
    await expect(alert.textContent()).resolves.toContain("Could not cancel: a pause of workflow wf-ghost is already pending");
    // The card is still whole and still shows the pending pause.
    await expect(card(page, "wf-ghost").locator(".wf-notice").textContent()).resolves.toContain("pause: waiting for the worker");
  });

  it("works without JavaScript: a button posts and comes back (303); a refused one shows a page that says why", async () => {
    const noJs = await browser.newContext({ viewport: LAPTOP, javaScriptEnabled: false });
    try {
      const plain = await noJs.newPage();
      await signIn(plain, server.url);
      await start(server, "wf-plain", "render-1", "Sync contacts");
      await plain.goto(`${server.url}/t/demo/workflows`);
      await Promise.all([plain.waitForURL(/\/t\/demo\/workflows(#.*)?$/), card(plain, "wf-plain").getByRole("button", { name: "Pause" }).click()]);
      await expect(card(plain, "wf-plain").locator(".wf-notice").textContent()).resolves.toContain("pause requested…");
      await commandFor(worker, "wf-plain", "pause");
      await send(server, "paused", "wf-plain");

      // This page goes stale (no live updates without JS): it still offers Pause, which is no longer possible.
      await send(server, "resumed", "wf-plain");
      const stale = await plain.reload().then(() => card(plain, "wf-plain"));
      await expect(stale.getAttribute("data-state")).resolves.toBe("running");
      await send(server, "paused", "wf-plain");
      const response = plain.waitForResponse((r) => r.request().method() === "POST");
      await stale.getByRole("button", { name: "Pause" }).click();
      expect((await response).status()).toBe(409);
      await expect(plain.getByRole("alert").textContent()).resolves.toContain("Could not pause: workflow wf-plain is paused");
      await expect(plain.locator("h1.wf-name").textContent()).resolves.toBe("Sync contacts");
    } finally {
      await noJs.close();
    }
  });

  it("has a detail page: the card in full and its history, newest first, live", async () => {
    await Promise.all([page.waitForURL(/\/workflows\/wf-render$/), card(page, "wf-render").locator("a.wf-name").click()]);
    await waitLive(page);
    const wf = card(page, "wf-render");
    await expect(wf.locator("h1").textContent()).resolves.toBe("Render trailer");
    // Its whole history, progress reports included, each named by the workflow's name, its payload a click away.
    const newest = page.locator("#wf-timeline-items > li").first();
    await expect(newest.locator(".summary").textContent()).resolves.toContain("Render trailer at 42% — render");
    await newest.locator("details.payload summary").click();
    await expect(newest.locator("details.payload pre").textContent()).resolves.toContain('"task": "frame 12 of 40"');
    // Only this workflow's events.
    await expect(page.locator("#wf-timeline-items li", { hasText: "Transcode batch 7" }).count()).resolves.toBe(0);
    // The breadcrumb leads back to the list.
    await expect(page.locator('nav.crumbs a[href="/t/demo/workflows"]').count()).resolves.toBe(1);

    await send(server, "progress", "wf-render", { progress: 0.8, stage: "upload", task: "part 3 of 4" });
    await wf.locator('[role="progressbar"][aria-valuenow="80"]').waitFor({ timeout: 5000 });
    await page.locator("#wf-timeline-items > li").first().filter({ hasText: "Render trailer at 80% — upload" }).waitFor({ state: "attached", timeout: 5000 });
    // The payload opened before is still open: a live event is put above it, never over it.
    await expect(page.locator("#wf-timeline-items > li").nth(1).locator("details.payload").getAttribute("open")).resolves.toBe("");

    // A button here returns the full card.
    await wf.getByRole("button", { name: "Pause" }).click();
    await wf.locator(".wf-notice", { hasText: "pause requested…" }).waitFor({ timeout: 5000 });
    await expect(wf.locator("h1").count()).resolves.toBe(1);
    await page.locator("#wf-timeline-items > li").first().filter({ hasText: "pause requested" }).waitFor({ state: "attached", timeout: 5000 });
    await commandFor(worker, "wf-render", "pause");
    await send(server, "paused", "wf-render");
    await page.locator('article[data-workflow="wf-render"][data-state="paused"]').waitFor({ timeout: 5000 });
    await page.screenshot({ path: resolve(ARTIFACTS, "workflow-detail.png"), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: resolve(ARTIFACTS, "workflow-detail-phone.png"), fullPage: true });
    await page.setViewportSize(LAPTOP);
  });

  it("looks right on a laptop and on a phone", async () => {
    await page.goto(`${server.url}/t/demo/workflows`);
    await waitLive(page);
    await card(page, "wf-render").waitFor({ timeout: 5000 });
    await page.screenshot({ path: resolve(ARTIFACTS, "console-workflows.png"), fullPage: true });
    await page.setViewportSize(PHONE);
    // Nothing sticks out sideways on a phone.
    await expect(page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: resolve(ARTIFACTS, "console-workflows-phone.png"), fullPage: true });
    await page.locator("#workflows").screenshot({ path: resolve(ARTIFACTS, "console-workflows-phone-panel.png") });
  });
});

describe("console: workflow controls that expire, and read-only keys", () => {
  let server: TestServer;
  let context: BrowserContext;
  let page: Page;
  let worker: SseClient;
  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "800" });
    worker = await commandStream(server, "slow-1");
    await untilConnected(server, "slow-1");
    context = await browser.newContext({ viewport: LAPTOP });
    page = await context.newPage();
    await signIn(page, server.url);
    await page.goto(`${server.url}/t/demo/workflows`);
    await waitLive(page);
  });
  afterAll(async () => {
    worker?.close();
    await context?.close();
    await server?.dispose();
  });

  it("shows an unanswered control as expired", async () => {
    await start(server, "wf-slow", "slow-1", "Long backfill");
    const wf = card(page, "wf-slow");
    await wf.waitFor({ timeout: 5000 });
    await wf.getByRole("button", { name: "Pause" }).click();
    await wf.locator(".wf-notice", { hasText: "pause requested…" }).waitFor({ timeout: 5000 });
    await commandFor(worker, "wf-slow", "pause");
    // The worker never answers.
    await wf.locator(".wf-notice", { hasText: "pause expired: the worker did not answer" }).waitFor({ timeout: 10_000 });
    await expect(wf.locator(".badge").textContent()).resolves.toBe("running");
    await expect(wf.getByRole("button", { name: "Pause" }).isEnabled()).resolves.toBe(true);
  });

  it("a read-only key sees no buttons, and a forged POST gets 403", async () => {
    const { secret } = await createKey(server, { tenant: "demo", scopes: ["read"], label: "viewer" });
    const viewer = await browser.newContext({ viewport: LAPTOP });
    try {
      const p = await viewer.newPage();
      await signIn(p, server.url, secret);
      await p.goto(`${server.url}/t/demo/workflows`);
      await waitLive(p);
      await card(p, "wf-slow").waitFor({ timeout: 5000 });
      await expect(p.locator("#workflows .wf-actions, #workflows form[action*='/workflows/']").count()).resolves.toBe(0);
      await p.goto(`${server.url}/t/demo/workflows/wf-slow`);
      await expect(p.locator("article.workflow form").count()).resolves.toBe(0);

      // The session and its CSRF token are real; only the scope is missing.
      const status = await p.evaluate(async () => {
        const token = (document.querySelector('input[name="_csrf"]') as HTMLInputElement).value;
        const res = await fetch("/t/demo/workflows/wf-slow/cancel", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "hx-request": "true" },
          body: new URLSearchParams({ _csrf: token }),
        });
        return res.status;
      });
      expect(status).toBe(403);
      await expect(card(page, "wf-slow").locator(".wf-notice").textContent()).resolves.toContain("pause expired");
    } finally {
      await viewer.close();
    }
  });
});
