import { resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandStream, received } from "../support/channels.js";
import { publish, startTestServer, type TestServer } from "../support/server.js";
import type { SseClient } from "../support/sse-client.js";
import { ARTIFACTS, launchBrowser, signIn, waitLive } from "./browser.js";

const card = (page: Page, id: string) => page.locator(`#channels-list li[data-channel="${id}"]`);

describe("console: channel hub", () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let worker: SseClient;
  beforeAll(async () => {
    server = await startTestServer();
    // A connector worker holding its command stream, as in production.
    worker = await commandStream(server, "w1", { kinds: "channels" });
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    page = await context.newPage();
    await signIn(page, server.url);
    await page.goto(`${server.url}/t/demo/channels`);
    await waitLive(page);
  });
  afterAll(async () => {
    worker?.close();
    await browser?.close();
    await server?.dispose();
  });

  /**
   * Fills and sends the connect form; resolves with the command the worker received for it, once the form's
   * answer has come back too (it leaves the form fresh, and may land after the worker has the command).
   */
  async function connect(platform: string, name: string, settings = "") {
    const seen = received(worker).length;
    await page.selectOption('#channel-connect select[name="platform"]', platform);
    await page.fill('#channel-connect input[name="name"]', name);
    await page.fill('#channel-connect textarea[name="settings"]', settings);
    await page.click('#channel-connect button[type="submit"]');
    await worker.until((w) => received(w).slice(seen).some((e) => e.type === "channel.connect_requested"), 5000);
    await page.waitForFunction(() => (document.querySelector('#channel-connect input[name="name"]') as HTMLInputElement).value === "", null, { timeout: 5000 });
    return received(worker).slice(seen).find((e) => e.type === "channel.connect_requested")!;
  }

  it("connects from the form: the command reaches the connector and the stepper advances live to connected", async () => {
    const command = await connect("telegram", "Support bot", "region=eu\nbot_ref = vault:tg/support");
    expect(command.data).toMatchObject({ platform: "telegram", name: "Support bot", kind: "channels", settings: { region: "eu", bot_ref: "vault:tg/support" } });
    const id = command.subject!;
    const c = card(page, id);
    // Returned at once: the card is there, waiting for its connector (and the form is fresh: `connect` waited for it).
    await c.locator('.badge[data-state="connecting"]').waitFor({ timeout: 5000 });
    await expect(c.textContent()).resolves.toContain("Waiting for a connector");

    const steps = ["Validating token", "Registering webhook", "Fetching bot profile"];
    for (const [i, label] of steps.entries()) {
      await publish(server, "demo", { type: "channel.progress", subject: id, data: { step: i + 1, total: 3, label, worker: "w1" } });
      await c.locator(".step-label", { hasText: `Step ${i + 1} of 3` }).waitFor({ timeout: 5000 });
      await expect(c.locator(".step-label").textContent()).resolves.toContain(label);
      await expect(c.locator(".steps > li.done").count()).resolves.toBe(i);
    }
    await page.screenshot({ path: resolve(ARTIFACTS, "console-channels-connecting.png"), fullPage: true });
    await publish(server, "demo", { type: "channel.connected", subject: id, data: { worker: "w1" } });
    await c.locator('.badge[data-state="connected"]').waitFor({ timeout: 5000 });
    await expect(c.locator(".stepper").count()).resolves.toBe(0);
    await expect(c.textContent()).resolves.toContain("w1");
  });

  it("keeps what the operator types in the form while cards update live", async () => {
    const command = await connect("slack", "Ops alerts");
    await page.fill('#channel-connect input[name="name"]', "Half-typed na");
    await page.focus('#channel-connect input[name="name"]');
    await publish(server, "demo", { type: "channel.progress", subject: command.subject, data: { step: 1, total: 2, label: "OAuth" } });
    await card(page, command.subject!).locator(".step-label", { hasText: "Step 1 of 2" }).waitFor({ timeout: 5000 });
    await expect(page.inputValue('#channel-connect input[name="name"]')).resolves.toBe("Half-typed na");
    await expect(page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name)).resolves.toBe("name");
    await page.fill('#channel-connect input[name="name"]', "");
  });

  it("shows why a connect failed", async () => {
    const command = await connect("whatsapp", "Sales line", '{"phone_number": "+14155550100"}');
    expect(command.data.settings).toEqual({ phone_number: "+14155550100" });
    await publish(server, "demo", { type: "channel.progress", subject: command.subject, data: { step: 1, total: 3, label: "Waiting for QR scan" } });
    await publish(server, "demo", { type: "channel.failed", subject: command.subject, data: { reason: "QR code expired <again>" } });
    const c = card(page, command.subject!);
    await c.locator('.badge[data-state="failed"]').waitFor({ timeout: 5000 });
    await expect(c.locator(".reason").textContent()).resolves.toContain("QR code expired <again>");
    // Nothing to disconnect on a failed channel.
    await expect(c.locator("button", { hasText: "Disconnect" }).count()).resolves.toBe(0);
  });

  it("refuses bad settings with the reason, keeping what was typed", async () => {
    await page.selectOption('#channel-connect select[name="platform"]', "sms");
    await page.fill('#channel-connect input[name="name"]', "Texts");
    await page.fill('#channel-connect textarea[name="settings"]', "region=eu\nthis line has no equals");
    await page.click('#channel-connect button[type="submit"]');
    await page.locator("#channel-connect .form-error", { hasText: "line 2" }).waitFor({ timeout: 5000 });
    await expect(page.inputValue('#channel-connect input[name="name"]')).resolves.toBe("Texts");
    await expect(page.inputValue('#channel-connect select[name="platform"]')).resolves.toBe("sms");
    await page.fill('#channel-connect textarea[name="settings"]', "");
    await page.fill('#channel-connect input[name="name"]', "");
  });

  it("disconnects: the command reaches the worker holding the connection, and the card follows its answer", async () => {
    const id = (await page.locator("#channels-list li.channel-card.connected").first().getAttribute("data-channel"))!;
    const seen = received(worker).length;
    // Disconnect asks first (channel-actions.test.ts); the operator confirms.
    page.once("dialog", (dialog) => void dialog.accept());
    await card(page, id).locator("button", { hasText: "Disconnect" }).click();
    await worker.until((w) => received(w).slice(seen).some((e) => e.type === "channel.disconnect_requested" && e.subject === id), 5000);
    expect(received(worker).slice(seen).find((e) => e.type === "channel.disconnect_requested")!.data).toMatchObject({ worker: "w1" });
    await publish(server, "demo", { type: "channel.disconnected", subject: id, data: { reason: "operator request", worker: "w1" } });
    await card(page, id).locator('.badge[data-state="disconnected"]').waitFor({ timeout: 5000 });
    await expect(card(page, id).locator("button", { hasText: "Disconnect" }).count()).resolves.toBe(0);
    await page.screenshot({ path: resolve(ARTIFACTS, "console-channels.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: resolve(ARTIFACTS, "console-channels-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1366, height: 860 });
  });

  it("works without JavaScript: a plain form post is answered 303 back to the channels list", async () => {
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const csrf = await page.getAttribute('#channel-connect input[name="_csrf"]', "value");
    const seen = received(worker).length;
    const post = (path: string, form: Record<string, string>) =>
      fetch(server.url + path, { method: "POST", redirect: "manual", headers: { cookie, origin: server.url }, body: new URLSearchParams(form) });

    const res = await post("/t/demo/channels", { _csrf: csrf!, platform: "email", name: "Inbox", settings: "mailbox=support@example.com" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/t/demo/channels");
    // The list's filters ride on the form's URL: the answer goes back to the same list.
    const filtered = await post("/t/demo/channels?state=failed&q=in&junk=1", { _csrf: csrf!, platform: "email", name: "Inbox 2" });
    expect([filtered.status, filtered.headers.get("location")]).toEqual([303, "/t/demo/channels?q=in&state=failed"]);
    await worker.until((w) => received(w).slice(seen).some((e) => e.type === "channel.connect_requested" && e.data.name === "Inbox"), 5000);

    // Without the CSRF token: refused.
    expect((await post("/t/demo/channels", { platform: "email", name: "Forged" })).status).toBe(403);
    // A bad form without JavaScript: an error page with the reason.
    const bad = await post("/t/demo/channels", { _csrf: csrf!, platform: "email", name: "" });
    expect(bad.status).toBe(422);

    const id = received(worker).slice(seen).find((e) => e.data.name === "Inbox")!.subject!;
    const off = await post(`/t/demo/channels/${encodeURIComponent(id)}/disconnect`, { _csrf: csrf! });
    expect(off.status).toBe(303);
    await worker.until((w) => received(w).some((e) => e.type === "channel.disconnect_requested" && e.subject === id), 5000);
    // The live page shows the channel the plain post connected.
    await card(page, id).waitFor({ timeout: 5000 });
  });
});
