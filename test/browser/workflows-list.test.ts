import { spawn, type ChildProcess } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "../support/server.js";
import type { SseClient } from "../support/sse-client.js";
import { commandStream, received, send, untilConnected } from "../support/workflows.js";
import { launchBrowser, signIn, waitLive } from "./browser.js";
import { LAPTOP } from "./shots.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const card = (page: Page, id: string) => page.locator(`article.workflow[data-workflow="${id}"]`);
const tabCount = (page: Page, tab: string) => page.locator(`#workflow-tabs a[data-tab="${tab}"] .tab-count`);
const shown = (page: Page) => page.$$eval("#wf-rows > article", (els) => els.map((e) => (e as HTMLElement).dataset.workflow));

async function start(server: TestServer, id: string, worker: string, name: string, stages = ["fetch", "render", "upload"]) {
  const res = await send(server, "started", id, { name, stages, worker, stage: stages[0] });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

describe("console: the workflows list", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let worker: SseClient;
  beforeAll(async () => {
    server = await startTestServer();
    worker = await commandStream(server, "list-1");
    await untilConnected(server, "list-1");
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAPTOP });
    page.on("dialog", (d) => void d.accept().catch(() => undefined));
    await signIn(page, server.url);
  });
  afterAll(async () => {
    worker?.close();
    await browser?.close();
    await server?.dispose();
  });

  it("counts each state in its tab, live: a workflow failing moves from Running to Failed", async () => {
    await start(server, "wf-t1", "list-1", "Tab one");
    await start(server, "wf-t2", "list-1", "Tab two");
    await page.goto(`${server.url}/t/demo/workflows?state=running`);
    await waitLive(page);
    await expect(shown(page)).resolves.toEqual(["wf-t2", "wf-t1"]);
    await expect(tabCount(page, "running").textContent()).resolves.toBe("2");
    await expect(tabCount(page, "failed").textContent()).resolves.toBe("0");

    await send(server, "failed", "wf-t1", { reason: "disk full", retryable: true });
    await page.waitForFunction(() => document.querySelector('#workflow-tabs a[data-tab="failed"] .tab-count')?.textContent === "1", null, { timeout: 5000 });
    await expect(tabCount(page, "running").textContent()).resolves.toBe("1");
    await expect(tabCount(page, "All").textContent()).resolves.toBe("2");
    // It left the running tab.
    await card(page, "wf-t1").waitFor({ state: "detached", timeout: 5000 });
    await expect(shown(page)).resolves.toEqual(["wf-t2"]);
  });

  it("pages through 120 workflows by 50, newest first, and keeps a filter in the URL across a reload", async () => {
    const events = Array.from({ length: 120 }, (_, i) => ({
      type: "workflow.started",
      subject: `wf-bulk-${String(i).padStart(3, "0")}`,
      data: { name: `Bulk ${i}`, stages: ["one"], worker: "list-1" },
    }));
    // One at a time: each its own moment, so the order is the order of starting.
    for (const e of events) expect((await publish(server, "demo", e)).status).toBe(201);
    await page.goto(`${server.url}/t/demo/workflows`);
    await waitLive(page);
    const first = await shown(page);
    expect(first).toHaveLength(50);
    expect(first[0]).toBe("wf-bulk-119");
    await Promise.all([page.waitForURL(/before=/), page.click('#workflows-pager a[rel="next"]')]);
    await waitLive(page);
    const second = await shown(page);
    expect(second).toHaveLength(50);
    expect(second[0]).toBe("wf-bulk-069");
    await Promise.all([page.waitForURL(/before=/), page.click('#workflows-pager a[rel="next"]')]);
    await waitLive(page);
    const third = await shown(page);
    // The 20 older bulk ones, then what started before them: the rest of the tenant's workflows.
    const total = Number(await tabCount(page, "All").textContent());
    expect(third.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `wf-bulk-${String(19 - i).padStart(3, "0")}`));
    expect(third).toHaveLength(total - 100);
    await expect(page.locator('#workflows-pager a[rel="next"]').count()).resolves.toBe(0);
    // An older page holds still while new workflows start.
    await waitLive(page);
    await start(server, "wf-new", "list-1", "Newest");
    await page.locator('#workflows-pager a:not([rel])').click();
    await waitLive(page);
    await expect(shown(page).then((ids) => ids[0])).resolves.toBe("wf-new");

    // A search and a tab, typed and clicked, live in the URL and survive a reload.
    await page.fill("#workflows-list-q", "bulk 11");
    await page.waitForURL(/q=bulk\+11/, { timeout: 5000 });
    await expect.poll(() => shown(page)).toEqual(Array.from({ length: 10 }, (_, i) => `wf-bulk-${119 - i}`).concat(["wf-bulk-011"]));
    await Promise.all([page.waitForURL(/state=running/), page.click('#workflow-tabs a[data-tab="running"]')]);
    expect(new URL(page.url()).searchParams.get("q")).toBe("bulk 11");
    await page.reload();
    await waitLive(page);
    await expect(page.inputValue("#workflows-list-q")).resolves.toBe("bulk 11");
    await expect(page.locator('#workflow-tabs a[aria-current="page"]').getAttribute("data-tab")).resolves.toBe("running");
    await expect(shown(page).then((ids) => ids.length)).resolves.toBe(11);
  });

  it("cancels with a reason: shown while pending, on the card when the worker confirms, and in the history", async () => {
    await start(server, "wf-why", "list-1", "Import the wrong list");
    await page.goto(`${server.url}/t/demo/workflows?q=wrong`);
    await waitLive(page);
    const wf = card(page, "wf-why");
    await wf.locator('input[name="reason"]').fill("Customer sent the wrong CSV");
    await wf.getByRole("button", { name: "Cancel" }).click();
    await wf.locator(".wf-notice", { hasText: "cancel requested…" }).waitFor({ timeout: 5000 });
    await expect(wf.locator(".wf-notice").textContent()).resolves.toContain("reason: Customer sent the wrong CSV");
    await worker.until(() => received(worker).some((c) => c.subject === "wf-why" && c.data.reason === "Customer sent the wrong CSV"), 5000);
    // The worker confirms without repeating it: the card keeps the operator's reason.
    await send(server, "cancelled", "wf-why");
    await page.locator('article[data-workflow="wf-why"][data-state="cancelled"]').waitFor({ timeout: 5000 });
    await expect(wf.locator(".wf-notice").textContent()).resolves.toContain("cancelled: Customer sent the wrong CSV");

    await page.goto(`${server.url}/t/demo/workflows/wf-why`);
    const items = await page.locator("#wf-timeline-items > li .summary").allTextContents();
    expect(items.slice(0, 2).map((t) => t.trim())).toEqual([
      "Workflow Import the wrong list cancelled",
      "Import the wrong list: cancel requested (sent to list-1) — reason: Customer sent the wrong CSV",
    ]);

    // Too long a reason is refused on the card with why.
    await start(server, "wf-long", "list-1", "Long reason");
    await page.goto(`${server.url}/t/demo/workflows/wf-long`);
    const long = card(page, "wf-long");
    await long.locator('input[name="reason"]').evaluate((el) => el.removeAttribute("maxlength"));
    await long.locator('input[name="reason"]').fill("x".repeat(250));
    await long.getByRole("button", { name: "Cancel" }).click();
    await expect(long.getByRole("alert").textContent()).resolves.toContain("Could not cancel: the reason must be at most 200 characters");
  });
});

describe("console: retry in the demo's workflow runner", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let runner: ChildProcess;
  let output = "";
  beforeAll(async () => {
    server = await startTestServer();
    // The demo's runner, the program it is (public API only), fast.
    runner = spawn(process.execPath, ["--enable-source-maps", "dist/producers/workflow-runner.js", "--url", server.url, "--key", ADMIN_KEY, "--speed", "20", "--max", "1"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    runner.stdout!.setEncoding("utf8").on("data", (s: string) => (output += s));
    runner.stderr!.setEncoding("utf8").on("data", (s: string) => (output += s));
    await untilConnected(server, "runner-1", 30_000);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAPTOP });
    await signIn(page, server.url);
  });
  afterAll(async () => {
    if (runner && runner.exitCode === null) {
      const exited = new Promise((r) => runner.once("close", r));
      runner.kill("SIGTERM");
      await exited;
    }
    await browser?.close();
    await server?.dispose();
  });

  it("a failed workflow retried from its card: requested, then the runner runs it again (attempt 2)", async () => {
    // One of the runner's kinds of workflow, failed (as the runner reports a failure).
    await start(server, "wf-again", "runner-1", "Onboard Northwind", ["import", "enrich", "notify"]);
    await send(server, "failed", "wf-again", { reason: "CSV row 418: the e-mail column is missing", retryable: false });
    await page.goto(`${server.url}/t/demo/workflows?state=failed`);
    await waitLive(page);
    const wf = card(page, "wf-again");
    await expect(wf.locator(".wf-notice").textContent()).resolves.toContain("retryable: no");

    // Not retryable by the worker's account: the operator is asked first.
    const asked = new Promise<string>((r) => page.once("dialog", (d) => (r(d.message()), void d.accept())));
    const answer = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/workflows/wf-again/retry"));
    await wf.getByRole("button", { name: "Retry" }).click();
    await expect(asked).resolves.toContain("Retry anyway?");
    const res = await answer;
    expect(res.status()).toBe(200);
    expect(await res.text()).toContain("retry requested…");

    // The runner answers: on the failed tab it leaves; on the list it runs, attempt 2, progressing.
    await card(page, "wf-again").waitFor({ state: "detached", timeout: 20_000 });
    await page.goto(`${server.url}/t/demo/workflows?q=wf-again`);
    await waitLive(page);
    const again = card(page, "wf-again");
    await expect(again.locator(".wf-attempt").textContent()).resolves.toBe("attempt 2");
    await again.locator('[role="progressbar"]:not([aria-valuenow="0"])').waitFor({ timeout: 20_000 });
    expect(output).toMatch(/wf-again "Onboard Northwind" retried by an operator \(command \d+\) \(attempt 2\)/);
  });
});
