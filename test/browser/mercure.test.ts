import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishUpdate, SESSION_SECRET, sessionWithoutRead } from "../support/mercure.js";
import type { TestServer } from "../support/server.js";
import { ARTIFACTS, type ConsoleFixture, openConsole, waitLive } from "./browser.js";

const BOOK = "https://example.com/books/1";
const SECRET_BOOK = "https://example.com/books/2";
/** Longer than an item shows, over more lines than it shows. */
const LONG = `{"title": "<script>alert(1)</script>",\n${Array.from({ length: 20 }, (_, i) => `"line${i}": "${"x".repeat(30)}"`).join(",\n")}}`;

/** The topics the list shows, in order, with their counts. */
const topics = (page: Page) =>
  page.$$eval("#mercure-topic-rows > li", (lis) => lis.map((li) => `${(li as HTMLElement).dataset.topic} ${li.querySelector(".update-count")!.textContent}`));
/** The feed's items, top to bottom, as the operator reads them. */
const items = (page: Page) => page.$$eval("#feed-items > li[data-id]:not([hidden])", (lis) => lis.map((li) => li.textContent!.replace(/\s+/g, " ").trim()));

describe("console: the Mercure page", () => {
  let fixture: ConsoleFixture;
  let server: TestServer;
  let page: Page;
  beforeAll(async () => {
    fixture = await openConsole({
      env: { SESSION_SECRET },
      seed: async (server) => {
        await publishUpdate(server, "demo", { topic: [BOOK, "https://example.com/books"], id: "book-1-v1", type: "book.updated", data: LONG });
        await publishUpdate(server, "demo", { topic: SECRET_BOOK, id: "book-2-v1", private: "on", data: "PRIVATE BOOK DATA" });
      },
    });
    ({ server, page } = fixture);
  });
  afterAll(() => fixture?.close());

  it("is a section of the tenant's navigation, listing the topics and the updates with their ids, topics, types and data", async () => {
    await page.locator("nav.sections a", { hasText: "Mercure" }).click();
    await page.waitForURL(/\/t\/demo\/mercure$/);
    await waitLive(page);
    await expect(page.locator('nav.sections a[aria-current="page"]').textContent()).resolves.toBe("Mercure");

    expect(await topics(page)).toEqual([`${SECRET_BOOK} 1`, `${BOOK} 1`]);
    const [secret, book] = await items(page);
    expect(secret).toContain("Private update on https://example.com/books/2");
    expect(secret).toContain("book-2-v1");
    // The admin's key reads the tenant: the hub gives it private updates, and so does the console.
    expect(secret).toContain("PRIVATE BOOK DATA");
    await expect(page.locator("#feed-items > li").first().locator(".badge.private").textContent()).resolves.toBe("private");
    expect(book).toContain("Update on https://example.com/books/1 (+1 more topic) · book.updated");
    expect(book).toContain("https://example.com/books");
    // The data as text (escaped), cut after six lines.
    const data = page.locator("#feed-items > li").nth(1).locator("pre.update-data");
    await expect(data.textContent()).resolves.toMatch(/^\{"title": "<script>alert\(1\)<\/script>",\n"line0"[\s\S]*"line4": "x+",? … [\d,]+ more characters$/);
    await expect(page.locator("#feed-items script").count()).resolves.toBe(0);
  });

  it("moves a topic to the top with its new count and adds the update, live, without a reload", async () => {
    await waitLive(page);
    await page.evaluate(() => ((window as unknown as { __notReloaded: boolean }).__notReloaded = true));
    await publishUpdate(server, "demo", { topic: BOOK, id: "book-1-v2", type: "book.checked", data: "checked out" });

    await page.waitForFunction(
      (book) => document.querySelector<HTMLElement>("#mercure-topic-rows > li")?.dataset.topic === book && document.querySelector("#mercure-topic-rows .update-count")?.textContent === "2",
      BOOK,
      { timeout: 10_000 },
    );
    expect(await topics(page)).toEqual([`${BOOK} 2`, `${SECRET_BOOK} 1`]);
    await expect(page.locator("#mercure-topic-rows > li").first().locator(".last-update").textContent()).resolves.toContain("book-1-v2 · book.checked");

    // The feed on screen holds a new item behind its "1 new" button, as every feed does, and shows it on a click.
    await page.locator("[data-feed-new]", { hasText: "1 new" }).click();
    await expect(items(page)).resolves.toEqual([expect.stringContaining("book-1-v2"), expect.stringContaining("book-2-v1"), expect.stringContaining("book-1-v1")]);
    expect((await items(page))[0]).toContain("checked out");
    await expect(page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded)).resolves.toBe(true);
    await page.screenshot({ path: resolve(ARTIFACTS, "console-mercure.png"), fullPage: true });
  });

  it("shows a viewer whose key could not receive a private update that it is private, never its data", async () => {
    const cookie = await sessionWithoutRead(server, "demo");
    const [name, value] = cookie.split(/=(.*)/s);
    const context = await fixture.browser.newContext({ viewport: { width: 1366, height: 860 } });
    try {
      await context.addCookies([{ name, value, url: server.url }]);
      const other = await context.newPage();
      await other.goto(`${server.url}/t/demo/mercure`);
      await waitLive(other);
      const secret = other.locator("#feed-items > li", { hasText: "book-2-v1" });
      await expect(secret.locator(".badge.private").textContent()).resolves.toBe("private");
      await expect(secret.textContent()).resolves.toContain("Data hidden: a private update");
      await expect(other.locator("main").textContent()).resolves.not.toContain("PRIVATE BOOK DATA");

      // Live, too: a new private update arrives marked, without its data; a public one with it.
      await publishUpdate(server, "demo", { topic: SECRET_BOOK, id: "book-2-v2", private: "on", data: "MORE PRIVATE DATA" });
      await publishUpdate(server, "demo", { topic: BOOK, id: "book-1-v3", data: "public again" });
      await other.locator("[data-feed-new]", { hasText: "2 new" }).click();
      await other.locator("#feed-items > li", { hasText: "book-2-v2" }).locator(".update-hidden").waitFor({ timeout: 10_000 });
      await expect(other.locator("#feed-items > li", { hasText: "book-1-v3" }).textContent()).resolves.toContain("public again");
      await expect(other.locator("main").textContent()).resolves.not.toMatch(/PRIVATE (BOOK )?DATA/);
      await other.screenshot({ path: resolve(ARTIFACTS, "console-mercure-no-read.png"), fullPage: true });
      // The reader's page, open all along, got the same update with its data.
      await page.locator("[data-feed-new]", { hasText: "2 new" }).click();
      await expect(page.locator("#feed-items > li", { hasText: "book-2-v2" }).textContent()).resolves.toContain("MORE PRIVATE DATA");
    } finally {
      await context.close();
    }
  });
});
