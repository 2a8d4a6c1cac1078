import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, type TestServer } from "../support/server.js";
import { ARTIFACTS, type ConsoleFixture, openConsole, waitLive } from "./browser.js";

const note = (subject: string) => ({ type: "deploy.note", subject, data: { message: `note ${subject}` } });

/** The feed's items as the operator sees them: visible ones, top to bottom. */
const visibleSubjects = (page: Page) =>
  page.$$eval("#feed-items > li[data-id]:not([hidden])", (lis) => lis.map((li) => li.querySelector(".summary")!.textContent!.replace(/^deploy\.note · (\S+).*$/, "$1")));
const marker = (page: Page) => page.locator("[data-feed-new]");

describe("console: the activity feed", () => {
  let fixture: ConsoleFixture;
  let server: TestServer;
  let page: Page;
  beforeAll(async () => {
    fixture = await openConsole();
    ({ server, page } = fixture);
  });
  afterAll(() => fixture?.close());

  it("holds new items back while paused, and releases them in order", async () => {
    await publish(server, "demo", note("p0"));
    await page.locator("#feed-items li", { hasText: "p0" }).waitFor();
    await page.click("[data-feed-pause]");
    await expect(page.getAttribute("[data-feed-pause]", "aria-pressed")).resolves.toBe("true");
    for (const s of ["p1", "p2", "p3"]) await publish(server, "demo", note(s));
    await page.waitForFunction(() => document.querySelector("[data-feed-new]")?.textContent === "3 new — show", null, { timeout: 5000 });
    // Received, but not shown.
    await expect(page.locator("#feed-items > li[data-held]").count()).resolves.toBe(3);
    expect((await visibleSubjects(page))[0]).toBe("p0");

    await marker(page).click();
    await expect(marker(page).isHidden()).resolves.toBe(true);
    expect((await visibleSubjects(page)).slice(0, 4)).toEqual(["p3", "p2", "p1", "p0"]);
    // Showing them also resumes the feed.
    await expect(page.getAttribute("[data-feed-pause]", "aria-pressed")).resolves.toBe("false");
    await publish(server, "demo", note("p4"));
    await page.locator("#feed-items > li:not([hidden])", { hasText: "p4" }).waitFor({ timeout: 5000 });
  });

  it("holds new items back while the operator has scrolled the feed away from the top", async () => {
    await publish(server, "demo", Array.from({ length: 40 }, (_, i) => note(`fill-${i}`)));
    await page.locator("#feed-items li", { hasText: "fill-39" }).waitFor();
    await page.$eval("#feed-items", (list) => list.scrollTo({ top: 400 }));
    await page.waitForFunction(() => document.getElementById("feed-items")!.scrollTop >= 300);
    for (const s of ["s1", "s2"]) await publish(server, "demo", note(s));
    await page.waitForFunction(() => document.querySelector("[data-feed-new]")?.textContent === "2 new — show", null, { timeout: 5000 });
    // The operator's reading position did not move.
    expect(await page.$eval("#feed-items", (list) => list.scrollTop)).toBeGreaterThanOrEqual(300);
    await page.screenshot({ path: resolve(ARTIFACTS, "feed-held.png") });

    await marker(page).click();
    await page.waitForFunction(() => document.getElementById("feed-items")!.scrollTop === 0);
    expect((await visibleSubjects(page)).slice(0, 3)).toEqual(["s2", "s1", "fill-39"]);
    // Back at the top, new items come straight in.
    await publish(server, "demo", note("s3"));
    await page.locator("#feed-items > li:not([hidden])", { hasText: "s3" }).waitFor({ timeout: 5000 });
    await expect(marker(page).isHidden()).resolves.toBe(true);
  });

  it("renders markup in event data as text, and never runs it", async () => {
    const script = "<script>window.__pwned=1</script>";
    const img = "<img src=x onerror=window.__pwned=1>";
    await publish(server, "demo", { type: "custom.alert", subject: script, data: { message: img } });
    const item = page.locator("#feed-items > li", { hasText: "custom.alert" }).first();
    await item.waitFor({ timeout: 5000 });
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
