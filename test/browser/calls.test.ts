import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, type TestServer } from "../support/server.js";
import { ARTIFACTS, type ConsoleFixture, openConsole } from "./browser.js";

describe("console: call panel", () => {
  let fixture: ConsoleFixture;
  let server: TestServer;
  let page: Page;
  beforeAll(async () => {
    fixture = await openConsole();
    ({ server, page } = fixture);
  });
  afterAll(() => fixture?.close());

  it("shows a started call live, then moves it to recent when it ends", async () => {
    await publish(server, "demo", { type: "call.started", subject: "c-41", data: { direction: "inbound", number: "+14155550123", agent: "ada" } });
    const row = page.locator('#calls li[data-call="c-41"]');
    await row.waitFor({ timeout: 5000 });
    await expect(row.textContent()).resolves.toContain("•••0123");
    await expect(page.locator("#calls .count").textContent()).resolves.toContain("1 active");
    // The feed shows it too, readably.
    await page.locator("#feed-items li", { hasText: "Inbound call •••0123" }).waitFor({ timeout: 5000 });

    await publish(server, "demo", { type: "call.ended", subject: "c-41", data: { duration_ms: 75_000, status: "completed" } });
    await page.locator('#calls ul.recent li[data-call="c-41"]').waitFor({ timeout: 5000 });
    await expect(page.locator("#calls .count").textContent()).resolves.toContain("0 active");
    await expect(page.locator('#calls ul.recent li[data-call="c-41"]').textContent()).resolves.toContain("1:15");
    await page.screenshot({ path: resolve(ARTIFACTS, "console-calls.png"), fullPage: true });
  });
});
