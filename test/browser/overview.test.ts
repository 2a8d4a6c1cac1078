import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, type TestServer } from "../support/server.js";
import { type ConsoleFixture, openConsole, waitLive } from "./browser.js";
import { PHONE } from "./shots.js";

/** A tenant with one of each kind of trouble, and a workflow under way whose progress folds into its feed item. */
async function seed(server: TestServer): Promise<void> {
  const res = await publish(server, "demo", [
    { type: "call.started", subject: "c-1", data: { direction: "inbound", number: "+14155550123", agent: "ada" } },
    { type: "agent.status", subject: "ada", data: { status: "available", name: "Ada" } },
    { type: "agent.status", subject: "hopper", data: { status: "disconnected", name: "Hopper" } },
    { type: "workflow.started", subject: "wf-run", data: { name: "Onboard Northwind", stages: ["import", "notify"], worker: "w-1" } },
    { type: "workflow.progress", subject: "wf-run", data: { progress: 0.4, task: "Importing contacts" } },
    { type: "workflow.started", subject: "wf-fail", data: { name: "Nightly export", stages: ["extract"], worker: "w-1" } },
    { type: "workflow.failed", subject: "wf-fail", data: { reason: "CRM answered 503", retryable: true } },
    { type: "channel.connect_requested", subject: "ch-sms", data: { platform: "sms", name: "Support line", kind: "sms" } },
    { type: "channel.failed", subject: "ch-sms", data: { reason: "number not verified" } },
    { type: "chat.message", subject: "s-1", data: { message_id: "m-1", text: "Where is my refund?", agent: "nobody", worker: "nobody" } },
  ]);
  expect(res.status).toBe(201);
}

/** The WCAG contrast ratio of each element's text against the first opaque background behind it. */
function contrasts(page: Page, selectors: string[]): Promise<Record<string, number>> {
  return page.evaluate((list) => {
    const rgba = (css: string) => (css.match(/[\d.]+/g) ?? []).map(Number);
    const lum = (css: string) => {
      const [r, g, b] = rgba(css).map((v) => v / 255);
      const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const out: Record<string, number> = {};
    for (const sel of list) {
      const el = document.querySelector<HTMLElement>(sel);
      if (!el) throw new Error(`nothing matches ${sel}`);
      let bg = "rgb(255, 255, 255)";
      for (let at: HTMLElement | null = el; at; at = at.parentElement) {
        const c = getComputedStyle(at).backgroundColor;
        const alpha = rgba(c)[3] ?? 1;
        if (alpha > 0.5) {
          bg = c;
          break;
        }
      }
      const [a, b] = [lum(getComputedStyle(el).color), lum(bg)].sort((x, y) => y - x);
      out[sel] = Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100;
    }
    return out;
  }, selectors);
}

/** What the page's current navigation link says. */
const currentSection = (page: Page) => page.locator('nav.sections a[aria-current="page"]').allTextContents();

describe("console: the overview, its navigation and the phone layout", () => {
  let fixture: ConsoleFixture;
  let page: Page;
  beforeAll(async () => {
    fixture = await openConsole({ seed });
    page = fixture.page;
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("shows the tiles, what needs attention and the top of the feed in the first screen at 1366 × 768", async () => {
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.goto(`${fixture.server.url}/t/demo`);
    await waitLive(page);
    const boxes: Record<string, { x: number; y: number; width: number; height: number }> = {};
    for (const sel of ["#overview-tiles", "#overview-attention", ".console > .feed .card-head", ".console > .feed .chips", "#feed-items > li:first-child"]) {
      const box = await page.locator(sel).boundingBox();
      expect(box, sel).not.toBeNull();
      boxes[sel] = box!;
      expect(box!.x, sel).toBeGreaterThanOrEqual(0);
      expect(box!.y + box!.height, sel).toBeLessThanOrEqual(768);
      expect(box!.x + box!.width, sel).toBeLessThanOrEqual(1366);
    }
    // The feed is beside them, not under them.
    expect(boxes[".console > .feed .card-head"].x).toBeGreaterThan(boxes["#overview-tiles"].x + boxes["#overview-tiles"].width);
    expect(await page.locator("#overview-attention li.attn").count()).toBe(4);
  });

  it("updates the tiles and the attention list live, and takes the operator to what needs attention", async () => {
    const failed = page.locator('#overview-tiles a[data-count="failed"][href="/t/demo/workflows?state=failed"] b');
    await expect.poll(() => failed.textContent()).toBe("1");
    await publish(fixture.server, "demo", { type: "workflow.failed", subject: "wf-run", data: { reason: "disk full", retryable: false } });
    await expect.poll(() => failed.textContent(), { timeout: 15_000 }).toBe("2");
    const entry = page.locator('#overview-attention a[href="/t/demo/workflows/wf-run"]');
    await entry.waitFor({ timeout: 15_000 });
    // Newest first.
    expect(await page.locator("#overview-attention li.attn a").first().getAttribute("href")).toBe("/t/demo/workflows/wf-run");
    await Promise.all([page.waitForURL(/\/t\/demo\/workflows\/wf-run$/), entry.click()]);
    expect(await currentSection(page)).toEqual(["Workflows"]);
  });

  it("marks the section each page belongs to", async () => {
    for (const [path, section] of [
      ["/t/demo", "Overview"],
      ["/t/demo/feed", "Activity"],
      ["/t/demo/stats", "Stats"],
      ["/t/demo/agents/ada", "Agents"],
      ["/t/demo/workflows/wf-fail", "Workflows"],
      ["/t/demo/sessions/s-1", "Chat"],
    ]) {
      await page.goto(fixture.server.url + path);
      expect(await currentSection(page), path).toEqual([section]);
    }
  });

  it("shows the feed on its own page, live, with its chips", async () => {
    await page.goto(`${fixture.server.url}/t/demo/feed`);
    await waitLive(page);
    expect(await page.locator(".chips a.chip").first().getAttribute("href")).toBe("/t/demo/feed");
    expect(await page.locator('.chips a.chip:text("Calls")').getAttribute("href")).toBe("/t/demo/feed?topic=call");
    const res = await publish(fixture.server, "demo", { type: "deploy.finished", subject: "api", data: { message: "v3 is live" } });
    await page.locator(`#feed-items > li[data-id="${res.body.ids[0]}"]`).waitFor({ state: "attached", timeout: 15_000 });
    // Narrowed to calls by its chip: the page and its stream keep the filter.
    await Promise.all([page.waitForURL(/\/t\/demo\/feed\?topic=call$/), page.locator('.chips a.chip:text("Calls")').click()]);
    await waitLive(page);
    expect(await page.locator("#feed-items > li[data-id]").evaluateAll((lis) => lis.map((li) => li.textContent ?? ""))).toEqual([expect.stringContaining("•••0123")]);
  });

  it("on a phone: Activity is one tap away on every page, and nothing is wider than the screen", async () => {
    await page.setViewportSize(PHONE);
    for (const path of ["/t/demo", "/t/demo/stats", "/t/demo/agents/ada", "/t/demo/workflows/wf-fail", "/t/demo/sessions/s-1", "/t/demo/feed"]) {
      await page.goto(fixture.server.url + path);
      await page.locator("main").waitFor();
      const activity = page.locator("nav.sections a.nav-activity");
      const box = (await activity.boundingBox())!;
      expect(box.x, path).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, path).toBeLessThanOrEqual(PHONE.width);
      expect(box.y + box.height, path).toBeLessThanOrEqual(PHONE.height);
      // Nothing covers it: a tap lands on the link.
      expect(await page.evaluate(({ x, y }) => document.elementFromPoint(x, y)?.closest("a")?.getAttribute("href"), { x: box.x + box.width / 2, y: box.y + box.height / 2 }), path).toBe(
        "/t/demo/feed",
      );
      expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(PHONE.width);
    }
    await page.goto(`${fixture.server.url}/t/demo`);
    // The tiles in a compact grid: several share a row.
    const tops = await page.locator("#overview-tiles > .ov-tile").evaluateAll((tiles) => tiles.map((t) => Math.round(t.getBoundingClientRect().top)));
    expect(new Set(tops).size).toBeLessThan(tops.length);
    // Still one tap after scrolling down: the bar stays on screen.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await Promise.all([page.waitForURL(/\/t\/demo\/feed$/), page.locator("nav.sections a.nav-activity").click()]);
    await page.setViewportSize({ width: 1366, height: 860 });
  });

  it("keeps the overview and the feed readable in the dark", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    try {
      await page.goto(`${fixture.server.url}/t/demo`);
      await waitLive(page);
      // The "N new" pill, as it shows when items are held back.
      await page.evaluate(() => document.querySelector<HTMLElement>("[data-feed-new]")!.removeAttribute("hidden"));
      const ratios = await contrasts(page, [
        ".ov-tile h2 a",
        ".ov-main",
        ".ov-more a.bad",
        ".ov-more a.warn",
        "#overview-attention .badge.failed",
        "#overview-attention .badge.offline",
        "#overview-attention .badge.waiting",
        "#overview-attention li .muted",
        "nav.sections a:not([aria-current])",
        'nav.sections a[aria-current="page"]',
        ".chip:not([aria-current])",
        '.chip[aria-current="true"]',
        "[data-feed-new]",
        ".feed-item .fold:not(:empty)",
        ".feed-item .summary",
      ]);
      for (const [sel, ratio] of Object.entries(ratios)) expect(ratio, sel).toBeGreaterThanOrEqual(4.5);
    } finally {
      await page.emulateMedia({ colorScheme: "light" });
    }
  });
});
