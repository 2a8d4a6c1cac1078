import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, type TestServer } from "../support/server.js";
import { ARTIFACTS, type ConsoleFixture, openConsole, waitLive } from "./browser.js";

const started = (id: string, data: Record<string, unknown> = {}) => ({
  type: "call.started",
  subject: id,
  data: { direction: "inbound", number: "+14155550123", agent: "ada", ...data },
});

/** The call ids the list shows, in page order. */
const rows = (page: Page) => page.locator("#calls-rows > li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-call")));

describe("console: the calls list and a call's page", () => {
  let fixture: ConsoleFixture;
  let server: TestServer;
  let page: Page;
  // 55 older calls of grace (ending 7788), in one commit: 50 on page 1 with the newest, the rest on page 2.
  const older = Array.from({ length: 55 }, (_, i) => started(`old-${String(i).padStart(2, "0")}`, { agent: "grace", number: "+4420718387788", direction: "outbound" }));
  beforeAll(async () => {
    fixture = await openConsole({ seed: async (s) => void (await publish(s, "demo", older)) });
    ({ server, page } = fixture);
    await page.goto(`${server.url}/t/demo/calls`);
    await waitLive(page);
  });
  afterAll(() => fixture?.close());

  it("puts a call that starts at the top of page 1, live, and updates its row when it ends", async () => {
    await expect(rows(page)).resolves.toEqual(older.slice(5).map((c) => c.subject).reverse());
    await publish(server, "demo", started("c-41"));
    const row = page.locator('#calls-rows > li[data-call="c-41"]');
    await row.waitFor({ timeout: 5000 });
    await expect(rows(page).then((ids) => [ids[0], ids.length])).resolves.toEqual(["c-41", 50]);
    await expect(row.textContent()).resolves.toContain("•••0123");
    await expect(row.locator(".badge").textContent()).resolves.toBe("active");
    await publish(server, "demo", { type: "call.ended", subject: "c-41", data: { duration_ms: 75_000, status: "completed" } });
    await row.locator(".badge", { hasText: "completed" }).waitFor({ timeout: 5000 });
    await expect(row.locator(".duration").textContent()).resolves.toBe("1:15");
    // It stays where it started: the list is by start time.
    await expect(rows(page).then((ids) => ids[0])).resolves.toBe("c-41");
    await page.screenshot({ path: resolve(ARTIFACTS, "console-calls.png"), fullPage: true });
  });

  it("keeps its filters in the URL: a change updates the list and the address, a reload keeps them", async () => {
    await page.selectOption("#calls-direction", "outbound");
    await page.waitForURL(/\/t\/demo\/calls\?direction=outbound$/, { timeout: 5000 });
    await expect.poll(() => rows(page).then((ids) => ids.includes("c-41")), { timeout: 5000 }).toBe(false);
    await page.fill("#calls-last4", "7788");
    await page.waitForURL(/\/t\/demo\/calls\?direction=outbound&last4=7788$/, { timeout: 5000 });
    await expect(rows(page)).resolves.toHaveLength(50);
    // Live with the new filters: an inbound call is not for this list, an outbound one ending 7788 is.
    await publish(server, "demo", started("c-in"));
    await publish(server, "demo", started("c-out", { direction: "outbound", number: "+4420718387788" }));
    await page.locator('#calls-rows > li[data-call="c-out"]').waitFor({ timeout: 5000 });
    await expect(page.locator('#calls-rows > li[data-call="c-in"]').count()).resolves.toBe(0);

    await page.reload();
    await waitLive(page);
    await expect(page.inputValue("#calls-direction")).resolves.toBe("outbound");
    await expect(page.inputValue("#calls-last4")).resolves.toBe("7788");
    await expect(rows(page).then((ids) => ids[0])).resolves.toBe("c-out");
    await page.fill("#calls-last4", "0000");
    await page.locator("#calls-list .empty", { hasText: "No calls match these filters." }).waitFor({ state: "visible", timeout: 5000 });
    await page.click("#calls-list ~ * a.clear, .calls-filter a.clear");
    await page.waitForURL(/\/t\/demo\/calls$/, { timeout: 5000 });
    await waitLive(page);
  });

  it("pages to older calls and back; an older page holds still while calls start", async () => {
    const firstPage = await rows(page);
    expect(firstPage).toHaveLength(50);
    await Promise.all([page.waitForURL(/\/t\/demo\/calls\?before=\d+\.\d+$/), page.click("#calls-pager a[rel=next]")]);
    await waitLive(page);
    const secondPage = await rows(page);
    // The rest, none of page 1 again.
    expect(secondPage.length).toBeGreaterThan(0);
    expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
    expect(secondPage.at(-1)).toBe("old-00");
    // A call starts, then one this page shows ends: the update arrives, the new call does not.
    await publish(server, "demo", started("c-late"));
    await publish(server, "demo", { type: "call.ended", subject: "old-00", data: { duration_ms: 3000, status: "busy" } });
    await page.locator('#calls-rows > li[data-call="old-00"] .badge', { hasText: "busy" }).waitFor({ timeout: 5000 });
    await expect(rows(page)).resolves.toEqual(secondPage);
    await Promise.all([page.waitForURL(/\/t\/demo\/calls$/), page.locator("#calls-pager a", { hasText: "Newest" }).click()]);
    await waitLive(page);
    await expect(rows(page).then((ids) => ids[0])).resolves.toBe("c-late");
  });

  it("opens a call's page: state, agent, summary and sentiment, and its timeline with each event's data, live", async () => {
    await Promise.all([page.waitForURL(/\/t\/demo\/calls\/c-41$/), page.click('#calls-rows > li[data-call="c-41"] a.call-link')]);
    await waitLive(page);
    await expect(page.locator("#call-title").textContent()).resolves.toBe("Inbound call •••0123");
    await expect(page.locator("#call-detail a[href='/t/demo/agents/ada']").textContent()).resolves.toBe("ada");
    await expect(page.locator("#call-detail .duration").textContent()).resolves.toBe("1:15");
    await expect(page.locator("#call-detail .call-summary").textContent()).resolves.toBe("No summary yet.");
    await publish(server, "demo", { type: "call.analyzed", subject: "c-41", data: { summary: "Wants a refund for order 1042", sentiment: "negative" } });
    await page.locator("#call-detail .call-summary", { hasText: "Wants a refund for order 1042" }).waitFor({ timeout: 5000 });
    await expect(page.locator("#call-detail .call-sentiment").textContent()).resolves.toContain("negative");
    // The new line is announced, not pushed under the reader's eyes; shown, newest first, each event's data opens from its line.
    await page.locator(".call-timeline [data-feed-new]").click({ timeout: 5000 });
    const timeline = page.locator(".call-timeline #feed-items > li:not([data-held])");
    await expect.poll(() => timeline.count(), { timeout: 5000 }).toBe(3);
    await expect(timeline.locator("details > summary").allTextContents()).resolves.toEqual([
      expect.stringMatching(/^call\.analyzed · c-41/),
      expect.stringMatching(/^call\.ended · c-41/),
      expect.stringMatching(/^call\.started · c-41/),
    ]);
    await timeline.first().locator("details > summary").click();
    await expect(timeline.first().locator("details pre").isVisible()).resolves.toBe(true);
    await expect(timeline.first().locator("details pre").textContent()).resolves.toContain('"sentiment": "negative"');
    await page.screenshot({ path: resolve(ARTIFACTS, "console-call.png"), fullPage: true });
    // An unknown call: the error page.
    const missing = await page.goto(`${server.url}/t/demo/calls/no-such-call`);
    expect(missing?.status()).toBe(404);
    await expect(page.locator("main").textContent()).resolves.toContain('There is no call "no-such-call" in demo.');
  });
});
