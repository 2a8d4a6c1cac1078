import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, publish, type TestServer } from "../support/server.js";
import { ARTIFACTS, type ConsoleFixture, openConsole, waitLive } from "./browser.js";

const note = (subject: string) => ({ type: "deploy.note", subject, data: { message: `note ${subject}` } });

/** The feed's items as the operator sees them: visible ones, top to bottom. */
const visibleSubjects = (page: Page) =>
  page.$$eval("#feed-items > li[data-id]:not([hidden])", (lis) => lis.map((li) => li.querySelector(".summary")!.textContent!.replace(/^deploy\.note · (\S+).*$/, "$1")));
const marker = (page: Page) => page.locator("[data-feed-new]");
const waitMarker = (page: Page, text: string) =>
  page.waitForFunction((t) => document.querySelector("[data-feed-new]")?.textContent === t, text, { timeout: 5000 });
/** The visible items' texts, top to bottom (each item's whole text, folded progress included). */
const itemTexts = (page: Page) =>
  page.$$eval("#feed-items > li[data-id]", (lis) => lis.map((li) => ((li as HTMLElement).hidden ? "(held) " : "") + li.textContent!.replace(/\s+/g, " ").trim()));

/** Starts recording layout shifts of the feed: each shift's value, when one of its moved nodes is in the feed. */
const recordFeedShifts = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __feedShifts: number[] };
    w.__feedShifts = [];
    const feed = document.querySelector(".feed")!;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as unknown as { value: number; hadRecentInput: boolean; sources: { node?: Node }[] }[]) {
        if (!entry.hadRecentInput && entry.sources.some((s) => s.node && feed.contains(s.node))) w.__feedShifts.push(entry.value);
      }
    }).observe({ type: "layout-shift" });
  });
const feedShifts = (page: Page) => page.evaluate(() => (window as unknown as { __feedShifts: number[] }).__feedShifts);

describe("console: the activity feed", () => {
  let fixture: ConsoleFixture;
  let server: TestServer;
  let page: Page;
  beforeAll(async () => {
    fixture = await openConsole();
    ({ server, page } = fixture);
  });
  afterAll(() => fixture?.close());

  it("fills an empty feed directly; then announces new items ('N new') and moves nothing the operator reads", async () => {
    await publish(server, "demo", note("first"));
    // Into an empty list nothing moves: the first item shows at once.
    await page.locator("#feed-items > li:not([hidden])", { hasText: "first" }).waitFor({ timeout: 5000 });
    await recordFeedShifts(page);
    const before = await page.$$eval("#feed-items > li[data-id]:not([hidden])", (lis) => lis.map((li) => li.getBoundingClientRect().top));

    for (const s of ["n1", "n2", "n3"]) await publish(server, "demo", note(s));
    await waitMarker(page, "3 new — show");
    // Received, held back above what is shown: nothing moved, nothing shifted.
    await expect(page.locator("#feed-items > li[data-held]").count()).resolves.toBe(3);
    expect(await page.$$eval("#feed-items > li[data-id]:not([hidden])", (lis) => lis.map((li) => li.getBoundingClientRect().top))).toEqual(before);
    await page.screenshot({ path: resolve(ARTIFACTS, "feed-new-items.png") });
    expect(await feedShifts(page)).toEqual([]);

    await marker(page).click();
    await expect(marker(page).isHidden()).resolves.toBe(true);
    expect((await visibleSubjects(page)).slice(0, 4)).toEqual(["n3", "n2", "n1", "first"]);
  });

  it("holds new items back while paused, and releases them in order", async () => {
    await page.click("[data-feed-pause]");
    await expect(page.getAttribute("[data-feed-pause]", "aria-pressed")).resolves.toBe("true");
    for (const s of ["p1", "p2", "p3"]) await publish(server, "demo", note(s));
    await waitMarker(page, "3 new — show");
    await expect(page.locator("#feed-items > li[data-held]").count()).resolves.toBe(3);
    expect((await visibleSubjects(page))[0]).toBe("n3");

    await marker(page).click();
    await expect(marker(page).isHidden()).resolves.toBe(true);
    expect((await visibleSubjects(page)).slice(0, 4)).toEqual(["p3", "p2", "p1", "n3"]);
    // Showing them also resumes the feed.
    await expect(page.getAttribute("[data-feed-pause]", "aria-pressed")).resolves.toBe("false");
  });

  it("keeps the operator's place in a scrolled feed, and 'show' goes back to the top", async () => {
    await publish(server, "demo", Array.from({ length: 40 }, (_, i) => note(`fill-${i}`)));
    await waitMarker(page, "40 new — show");
    await marker(page).click();
    await page.$eval("#feed-items", (list) => list.scrollTo({ top: 400 }));
    await page.waitForFunction(() => document.getElementById("feed-items")!.scrollTop >= 300);
    for (const s of ["s1", "s2"]) await publish(server, "demo", note(s));
    await waitMarker(page, "2 new — show");
    // The operator's reading position did not move.
    expect(await page.$eval("#feed-items", (list) => list.scrollTop)).toBeGreaterThanOrEqual(300);
    await page.screenshot({ path: resolve(ARTIFACTS, "feed-held.png") });

    await marker(page).click();
    await page.waitForFunction(() => document.getElementById("feed-items")!.scrollTop === 0);
    expect((await visibleSubjects(page)).slice(0, 3)).toEqual(["s2", "s1", "fill-39"]);
  });

  it("off screen, new items go straight in: nothing visible moves", async () => {
    // A phone held sideways-short, at the top of the overview: the feed (under the tiles and what needs attention) is below the window.
    await page.setViewportSize({ width: 390, height: 320 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForFunction(() => document.getElementById("feed-items")!.getBoundingClientRect().top > window.innerHeight);
    await publish(server, "demo", note("unseen"));
    await page.locator("#feed-items > li:not([hidden])", { hasText: "unseen" }).waitFor({ state: "attached", timeout: 5000 });
    await expect(page.locator("#feed-items > li", { hasText: "unseen" }).getAttribute("data-held")).resolves.toBeNull();
    await expect(marker(page).isHidden()).resolves.toBe(true);
    await page.setViewportSize({ width: 1366, height: 860 });
  });

  it("renders markup in event data as text, and never runs it", async () => {
    const script = "<script>window.__pwned=1</script>";
    const img = "<img src=x onerror=window.__pwned=1>";
    await publish(server, "demo", { type: "custom.alert", subject: script, data: { message: img } });
    const item = page.locator("#feed-items > li", { hasText: "custom.alert" }).first();
    await item.waitFor({ state: "attached", timeout: 5000 });
    await expect(item.locator(".summary").textContent()).resolves.toBe(`custom.alert · ${script} — ${img}`);
    await expect(item.locator("script, img").count()).resolves.toBe(0);
    // The same on a fresh render of the page.
    await page.reload();
    await waitLive(page);
    const rendered = page.locator("#feed-items > li", { hasText: "custom.alert" }).first();
    await expect(rendered.locator(".summary").textContent()).resolves.toBe(`custom.alert · ${script} — ${img}`);
    await expect(page.locator("#feed-items script, #feed-items img").count()).resolves.toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });
});

describe("console: a calm feed", () => {
  let fixture: ConsoleFixture;
  let server: TestServer;
  let page: Page;
  const SESSION = "9b2f6c1e-4d7a-4f1b-8a55-2c3e9d0f7a61";
  beforeAll(async () => {
    fixture = await openConsole({
      seed: async (server) => {
        const opened = await api(server, "/api/v1/tenants/demo/sessions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id: SESSION, agent: "helper", title: "Refund for order 1042" }),
        });
        expect(opened.status).toBe(201);
      },
    });
    ({ server, page } = fixture);
  });
  afterAll(() => fixture?.close());

  it("shows changes of state only: progress folds into its workflow's item, named, never one item per tick", async () => {
    const wf = (type: string, data: Record<string, unknown> = {}) => publish(server, "demo", { type: `workflow.${type}`, subject: "wf-7f3a9c", data });
    await wf("started", { name: "Nightly export", stages: ["fetch", "render", "upload"], worker: "runner-1", stage: "fetch" });
    const item = page.locator("#feed-items > li", { hasText: "Workflow Nightly export started" });
    await item.waitFor({ state: "attached", timeout: 5000 });
    const count = await page.locator("#feed-items > li[data-id]").count();
    if (await marker(page).isVisible()) await marker(page).click();
    await item.waitFor();
    await recordFeedShifts(page);
    for (let i = 1; i <= 10; i++) await wf("progress", { progress: i / 10, stage: i < 5 ? "render" : "upload" });
    await item.locator(".fold", { hasText: "100% — upload" }).waitFor({ timeout: 5000 });
    // Ten ticks, no new item, and the item they fold into kept its height: nothing moved.
    await expect(page.locator("#feed-items > li[data-id]").count()).resolves.toBe(count);
    expect(await feedShifts(page)).toEqual([]);
    await wf("completed");
    await page.locator("#feed-items > li", { hasText: "Workflow Nightly export completed" }).waitFor({ state: "attached", timeout: 5000 });
    // The page, rendered again, shows the same: the tick folded into the item it followed.
    await page.reload();
    await waitLive(page);
    const texts = await itemTexts(page);
    expect(texts.filter((t) => t.includes("Nightly export"))).toEqual([expect.stringMatching(/Workflow Nightly export completed/), expect.stringMatching(/Workflow Nightly export started .*100% — upload/)]);
    expect(texts.join(" ")).not.toContain("wf-7f3a9c");
  });

  it("names a chat session by its title, never its id, and folds the streamed answer into the question's item", async () => {
    const sent = await api(server, `/api/v1/tenants/demo/sessions/${SESSION}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "Where is my refund?", message_id: "q-1" }),
    });
    expect(sent.status).toBe(201);
    const question = page.locator("#feed-items > li", { hasText: "Message in Refund for order 1042: Where is my refund?" });
    await question.waitFor({ state: "attached", timeout: 5000 });
    const count = await page.locator("#feed-items > li[data-id]").count();
    const words = ["It ", "was ", "sent ", "today."];
    for (const [seq, text] of words.entries()) {
      const reply = await publish(server, "demo", { type: "chat.delta", subject: SESSION, data: { message_id: "a-1", ...(seq === 0 && { reply_to: "q-1" }), seq, text } });
      expect(reply.status).toBe(201);
    }
    await question.locator(".fold", { hasText: "answering…" }).waitFor({ state: "attached", timeout: 5000 });
    await publish(server, "demo", { type: "chat.completed", subject: SESSION, data: { message_id: "a-1" } });
    await page.locator("#feed-items > li", { hasText: "Answered in Refund for order 1042" }).waitFor({ state: "attached", timeout: 5000 });
    // Four words, no item of their own; the question and the answer are two.
    await expect(page.locator("#feed-items > li[data-id]").count()).resolves.toBe(count + 1);
    expect((await itemTexts(page)).join(" ")).not.toContain(SESSION);
  });

  it("narrows to a topic with a chip, and shows every event (ticks too) with 'Every event'", async () => {
    await page.locator(".chips").getByRole("link", { name: "Workflows", exact: true }).click();
    await page.waitForURL(/\?topic=workflow$/);
    await waitLive(page);
    await expect(page.locator('.chips a[aria-current="true"]').textContent()).resolves.toBe("Workflows");
    const texts = await itemTexts(page);
    expect(texts.length).toBe(2);
    expect(texts.every((t) => t.includes("Nightly export"))).toBe(true);

    await page.getByRole("link", { name: "Every event" }).click();
    await page.waitForURL(/topic=workflow&feed=all$/);
    await waitLive(page);
    // Every tick is its own item now, newest first.
    const all = await itemTexts(page);
    expect(all).toHaveLength(12);
    expect(all[1]).toContain("Nightly export at 100% — upload");
    await page.screenshot({ path: resolve(ARTIFACTS, "feed-every-event.png") });
    // And live: a tick arrives as an item of its own.
    await publish(server, "demo", [
      { type: "workflow.started", subject: "wf-2", data: { name: "Weekly digest", stages: ["fetch"], worker: "runner-1" } },
      { type: "workflow.progress", subject: "wf-2", data: { progress: 0.5 } },
    ]);
    await waitMarker(page, "2 new — show");
    await marker(page).click();
    expect((await itemTexts(page)).slice(0, 2)).toEqual([expect.stringContaining("Weekly digest at 50%"), expect.stringContaining("Workflow Weekly digest started")]);
    await page.getByRole("link", { name: "All", exact: true }).click();
    await page.waitForURL(/\?feed=all$/);
  });
});
