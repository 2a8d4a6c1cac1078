import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, type TestServer } from "../support/server.js";
import { ARTIFACTS, type ConsoleFixture, openConsole, waitLive } from "./browser.js";

const status = (subject: string, data: Record<string, unknown>) => ({ type: "agent.status", subject, data });
const badge = (page: Page, agent: string) => page.locator(`#agents-list li[data-agent="${agent}"] .badge`);
/** The agents the list shows, in order. */
const shown = (page: Page) => page.$$eval("#agents-list li[data-agent]", (lis) => lis.map((li) => (li as HTMLElement).dataset.agent));
const waitShown = (page: Page, want: string[]) =>
  page.waitForFunction(
    (w) => JSON.stringify([...document.querySelectorAll<HTMLElement>("#agents-list li[data-agent]")].map((li) => li.dataset.agent)) === JSON.stringify(w),
    want,
    { timeout: 5000 },
  );

describe("console: agents list and agent page", () => {
  let fixture: ConsoleFixture;
  let server: TestServer;
  let page: Page;
  beforeAll(async () => {
    fixture = await openConsole({
      seed: async (server) => {
      await publish(server, "demo", [
        status("ada", { status: "available", name: "Ada", capabilities: ["voice", "billing"], metrics: { calls_today: 12, avg_handle_s: 184 } }),
        status("bob", { status: "busy", name: "Bob", capabilities: ["chat"], execution_id: "exec-77", metrics: { load: 0.8 } }),
        status("cy", { status: "error", name: "Cy <script>", capabilities: ["email"], error: "model quota exceeded" }),
      ]);
      },
    });
    ({ server, page } = fixture);
    await page.goto(`${server.url}/t/demo/agents`);
    await waitLive(page);
  });
  afterAll(() => fixture?.close());

  it("shows each agent with its status, capabilities, metrics and execution, and a status change live", async () => {
    await expect(shown(page)).resolves.toEqual(["ada", "bob", "cy"]);
    await expect(badge(page, "ada").textContent()).resolves.toBe("available");
    const bob = await page.locator('#agents-list li[data-agent="bob"]').textContent();
    expect(bob).toContain("exec-77");
    expect(bob).toContain("chat");
    expect(bob).toContain("load");
    // Escaped, never markup.
    await expect(page.locator('#agents-list li[data-agent="cy"] strong').textContent()).resolves.toBe("Cy <script>");
    await expect(page.locator('#agents-list li[data-agent="cy"]').textContent()).resolves.toContain("model quota exceeded");

    await publish(server, "demo", status("ada", { status: "busy", execution_id: "exec-91" }));
    await page.locator('#agents-list li[data-agent="ada"] .badge[data-status="busy"]').waitFor({ timeout: 5000 });
    await expect(page.locator('#agents-list li[data-agent="ada"]').textContent()).resolves.toContain("exec-91");
    await page.screenshot({ path: resolve(ARTIFACTS, "console-agents.png"), fullPage: true });

    await publish(server, "demo", status("ada", { status: "available" }));
    await page.locator('#agents-list li[data-agent="ada"] .badge[data-status="available"]').waitFor({ timeout: 5000 });
  });

  it("filters by status and searches by name or capability, in the URL, across reloads and live updates", async () => {
    await page.click('#agents-summary a[data-tab="busy"]');
    await page.waitForURL(/\/agents\?status=busy$/, { timeout: 5000 });
    await waitShown(page, ["bob"]);

    // The stream follows the filter: a newly busy agent joins the list, one that stops being busy leaves it.
    await waitLive(page);
    await publish(server, "demo", status("dee", { status: "busy", name: "Dee", capabilities: ["billing"] }));
    await waitShown(page, ["bob", "dee"]);
    await publish(server, "demo", status("bob", { status: "available" }));
    await waitShown(page, ["dee"]);

    await page.reload();
    await waitLive(page);
    await expect(page.locator('#agents-summary a[aria-current="page"]').getAttribute("data-tab")).resolves.toBe("busy");
    await expect(shown(page)).resolves.toEqual(["dee"]);
    // The tab's count is live too.
    await expect(page.locator('#agents-summary a[data-tab="busy"] .tab-count').textContent()).resolves.toBe("1");

    // Search by capability, across all statuses.
    await page.click('#agents-summary a[data-tab="All"]');
    await waitShown(page, ["ada", "bob", "cy", "dee"]);
    await waitLive(page);
    await page.fill("#agents-list-q", "bill");
    await waitShown(page, ["ada", "dee"]);
    await page.waitForURL(/q=bill/, { timeout: 5000 });

    // Typing is never replaced by a live update: the box keeps focus and text while events arrive.
    await waitLive(page);
    await page.focus("#agents-list-q");
    await page.keyboard.type("i");
    await publish(server, "demo", status("cy", { status: "available" }));
    await page.waitForFunction(() => document.querySelector('#agents-summary a[data-tab="available"] .tab-count')?.textContent === "3", null, { timeout: 5000 });
    await expect(page.inputValue("#agents-list-q")).resolves.toBe("billi");
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe("agents-list-q");
    await page.fill("#agents-list-q", "Ada");
    await waitShown(page, ["ada"]);

    await page.reload();
    await waitLive(page);
    await expect(page.inputValue("#agents-list-q")).resolves.toBe("Ada");
    await expect(shown(page)).resolves.toEqual(["ada"]);
    await page.fill("#agents-list-q", "");
    await waitShown(page, ["ada", "bob", "cy", "dee"]);
  });

  it("opens an agent's page with its state and recent events, newest first, updating live", async () => {
    await page.click('#agents-list li[data-agent="ada"] a');
    await page.waitForURL(/\/t\/demo\/agents\/ada$/);
    await waitLive(page);
    const detail = page.locator("#agent-detail");
    await expect(detail.locator("h1").textContent()).resolves.toBe("Ada");
    const text = await detail.textContent();
    for (const s of ["voice", "billing", "calls_today", "12", "avg_handle_s", "184"]) expect(text).toContain(s);
    // ada's three events, newest first; nobody else's.
    const items = () => page.$$eval("#feed-items > li[data-id]", (lis) => lis.map((li) => li.textContent!.replace(/\s+/g, " ").trim()));
    const before = await items();
    expect(before).toHaveLength(3);
    expect(before[0]).toMatch(/ada is available/i);
    expect(before[1]).toMatch(/ada is busy/i);
    expect(before.join(" ")).not.toMatch(/Bob|Dee/);

    await publish(server, "demo", [status("bob", { status: "busy" }), status("ada", { status: "error", error: "lost the audio bridge" })]);
    await detail.locator('.badge[data-status="error"]').waitFor({ timeout: 5000 });
    await expect(detail.textContent()).resolves.toContain("lost the audio bridge");
    await page.waitForFunction(() => document.querySelectorAll("#feed-items > li[data-id]").length === 4, null, { timeout: 5000 });
    const after = await items();
    expect(after[0]).toMatch(/ada is error/i);
    expect(after.join(" ")).not.toContain("Bob");
    await page.screenshot({ path: resolve(ARTIFACTS, "agent-detail.png"), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: resolve(ARTIFACTS, "agent-detail-phone.png"), fullPage: true });
    await page.goto(`${server.url}/t/demo/agents`);
    await waitLive(page);
    await page.screenshot({ path: resolve(ARTIFACTS, "console-agents-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1366, height: 860 });
  });

  it("filters without JavaScript too: the list's URL is a page with the filter applied", async () => {
    const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const res = await fetch(`${server.url}/t/demo/agents?status=busy&q=&platform=sms`, { headers: { cookie }, redirect: "manual" });
    expect(res.status).toBe(200);
    const html = await res.text();
    // Bob and Dee are busy by now; Ada is in error.
    expect(html).toContain('data-agent="bob"');
    expect(html).toContain('data-agent="dee"');
    expect(html).not.toContain('data-agent="ada"');
    // The stream it opens carries the validated filter alone.
    expect(html).toMatch(/\/t\/demo\/live\/agents\?status=busy&amp;after=\d+/);
  });

  it("answers 404 for an unknown agent", async () => {
    const res = await page.goto(`${server.url}/t/demo/agents/nobody`);
    expect(res?.status()).toBe(404);
  });
});
