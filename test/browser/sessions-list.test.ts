import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, type TestServer } from "../support/server.js";
import { type ConsoleFixture, openConsole, waitLive } from "./browser.js";

/** The session ids the list shows, in page order. */
const rows = (page: Page) => page.locator("#sessions-rows > li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-session")));

describe("console: the chat sessions list", () => {
  let fixture: ConsoleFixture;
  let server: TestServer;
  let page: Page;
  beforeAll(async () => {
    fixture = await openConsole({
      // A pending message must not expire while the test looks at it.
      env: { COMMAND_TIMEOUT_MS: "600000" },
      seed: async (s) => {
        await publish(s, "demo", { type: "chat.session_started", subject: "s-refund", data: { agent: "helper", title: "Refund for order 1042" } });
        await publish(s, "demo", { type: "chat.session_started", subject: "s-delivery", data: { agent: "sales", title: "Delivery date" } });
        await publish(s, "demo", { type: "chat.message", subject: "s-refund", data: { message_id: "m1", text: "Where is it?", worker: "helper" } });
      },
    });
    ({ server, page } = fixture);
    await page.goto(`${server.url}/t/demo/sessions`);
    await waitLive(page);
  });
  afterAll(() => fixture?.close());

  it("filters by status, unanswered, agent and search, in the URL, and moves a session live", async () => {
    await expect(rows(page).then((ids) => ids.sort())).resolves.toEqual(["s-delivery", "s-refund"]);
    await expect(page.locator("#session-s-refund .badge.waiting").textContent()).resolves.toBe("waiting");

    await page.check("#sessions-unread");
    await page.waitForURL(/\/t\/demo\/sessions\?unread=1$/, { timeout: 5000 });
    await expect.poll(() => rows(page), { timeout: 5000 }).toEqual(["s-refund"]);
    // Answered: it leaves the unanswered list, live.
    await publish(server, "demo", { type: "chat.delta", subject: "s-refund", data: { message_id: "a1", reply_to: "m1", seq: 0, text: "Today" } });
    await expect.poll(() => rows(page), { timeout: 5000 }).toEqual([]);
    await page.locator("#sessions .empty", { hasText: "No sessions match these filters." }).waitFor({ state: "visible", timeout: 5000 });
    await page.uncheck("#sessions-unread");
    await page.waitForURL(/\/t\/demo\/sessions$/, { timeout: 5000 });

    await page.selectOption("#sessions-status", "answering");
    await page.waitForURL(/\/t\/demo\/sessions\?status=answering$/, { timeout: 5000 });
    await expect.poll(() => rows(page), { timeout: 5000 }).toEqual(["s-refund"]);
    await page.selectOption("#sessions-status", "");
    await page.fill("#sessions-q", "deliv");
    await page.waitForURL(/\/t\/demo\/sessions\?q=deliv$/, { timeout: 5000 });
    await expect.poll(() => rows(page), { timeout: 5000 }).toEqual(["s-delivery"]);
    await page.reload();
    await waitLive(page);
    await expect(page.inputValue("#sessions-q")).resolves.toBe("deliv");
    await expect(rows(page)).resolves.toEqual(["s-delivery"]);
    await page.fill("#sessions-q", "");
    await page.fill("#sessions-agent", "sales");
    await page.waitForURL(/\/t\/demo\/sessions\?agent=sales$/, { timeout: 5000 });
    await expect.poll(() => rows(page), { timeout: 5000 }).toEqual(["s-delivery"]);
    // A new session of that agent comes in at the top, live.
    await publish(server, "demo", { type: "chat.session_started", subject: "s-new", data: { agent: "sales", title: "Invoice copy" } });
    await expect.poll(() => rows(page), { timeout: 5000 }).toEqual(["s-new", "s-delivery"]);
    await Promise.all([page.waitForURL(/\/t\/demo\/sessions\/s-new$/), page.click("#session-s-new a")]);
    await waitLive(page);
  });
});
