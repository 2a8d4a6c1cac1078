import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, commandStream, received } from "../support/channels.js";
import { walkHistory } from "../support/history-pages.js";
import { publish, startTestServer, type TestServer } from "../support/server.js";
import type { SseClient } from "../support/sse-client.js";
import { holdAnswer, launchBrowser, signIn, waitLive } from "./browser.js";
import { LAPTOP, shootPage } from "./shots.js";

const CHANNELS = "/api/v1/tenants/demo/channels";
const card = (page: Page, id: string) => page.locator(`#channels-list li[data-channel="${id}"]`);

describe("console: a channel's buttons say what they do", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let connector: SseClient;
  beforeAll(async () => {
    server = await startTestServer();
    connector = await commandStream(server, "w1", { kinds: "channels" });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: LAPTOP });
    await signIn(page, server.url);
    await page.goto(`${server.url}/t/demo/channels`);
    await waitLive(page);
  });
  afterAll(async () => {
    connector?.close();
    await browser?.close();
    await server?.dispose();
  });

  const report = async (type: string, id: string, data: Record<string, unknown> = {}) => expect((await publish(server, "demo", { type, subject: id, data })).status).toBe(201);
  const commands = (id: string, type: string) => received(connector).filter((e) => e.subject === id && e.type === type);

  it("asks before disconnecting: dismissed, nothing is sent; confirmed, the connector gets the command", async () => {
    expect((await call(server, "POST", CHANNELS, { id: "ch-sales", platform: "whatsapp", name: "Sales line" })).status).toBe(201);
    await report("channel.connected", "ch-sales", { worker: "w1" });
    const button = card(page, "ch-sales").locator("button", { hasText: "Disconnect" });
    await button.waitFor({ timeout: 10_000 });

    const asked: string[] = [];
    page.once("dialog", (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await button.click();
    await expect.poll(() => asked).toEqual(["Disconnect Sales line? Its connector closes the connection."]);

    page.once("dialog", (dialog) => void dialog.accept());
    await button.click();
    await connector.until(() => commands("ch-sales", "channel.disconnect_requested").length > 0);
    // The dismissed press sent nothing: one request in the log, the confirmed one.
    const requests = await walkHistory(server, "demo", { subject: "ch-sales", types: "channel.disconnect_requested" });
    expect(requests).toHaveLength(1);
  });

  it("offers Retry and Remove on a failed channel: Retry connects it again, Remove (confirmed) takes it off the hub", async () => {
    expect((await call(server, "POST", CHANNELS, { id: "ch-tg", platform: "telegram", name: "Support bot", settings: { region: "eu" } })).status).toBe(201);
    await report("channel.failed", "ch-tg", { reason: "the bot token was rejected", worker: "w1" });
    const failed = card(page, "ch-tg");
    await failed.locator('.badge[data-state="failed"]').waitFor({ timeout: 10_000 });
    await expect(failed.locator("button").allTextContents()).resolves.toEqual(["Retry", "Remove"]);
    await shootPage(page, "channels-failed");

    await failed.locator("button", { hasText: "Retry" }).click();
    await connector.until(() => commands("ch-tg", "channel.connect_requested").length === 2);
    expect(commands("ch-tg", "channel.connect_requested")[1].data).toMatchObject({ platform: "telegram", name: "Support bot", settings: { region: "eu" } });
    await failed.locator('.badge[data-state="connecting"]').waitFor({ timeout: 10_000 });
    await expect(failed.locator("button").allTextContents()).resolves.toEqual(["Disconnect"]);

    await report("channel.failed", "ch-tg", { reason: "the bot token was rejected again", worker: "w1" });
    await failed.locator('.badge[data-state="failed"]').waitFor({ timeout: 10_000 });
    const asked: string[] = [];
    page.once("dialog", (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await failed.locator("button", { hasText: "Remove" }).click();
    await failed.waitFor({ state: "detached", timeout: 10_000 });
    expect(asked).toEqual(["Remove Support bot from the hub? Its history stays in the log."]);
    expect((await call(server, "GET", `${CHANNELS}/ch-tg`)).status).toBe(404);
  });

  it("keeps a card the page stream added after a press's answer was made, when that answer arrives late", async () => {
    expect((await call(server, "POST", CHANNELS, { id: "ch-hold", platform: "slack", name: "Held answer" })).status).toBe(201);
    await report("channel.connected", "ch-hold", { worker: "w1" });
    const button = card(page, "ch-hold").locator("button", { hasText: "Disconnect" });
    await button.waitFor({ timeout: 10_000 });
    // The press's answer (the cards as they were after its command) is held back on its way to the page.
    const answer = await holdAnswer(page, "**/channels/ch-hold/disconnect*");
    page.once("dialog", (dialog) => void dialog.accept());
    await button.click();
    await expect.poll(() => answer.held(), { timeout: 10_000 }).toBe(true);
    await connector.until(() => commands("ch-hold", "channel.disconnect_requested").length > 0);

    // Meanwhile a channel is connected elsewhere (over the API): the page stream shows its card.
    expect((await call(server, "POST", CHANNELS, { id: "ch-late", platform: "sms", name: "Late line" })).status).toBe(201);
    await card(page, "ch-late").waitFor({ timeout: 10_000 });

    // Then the older answer lands: the page, already past it, keeps the card it does not know about.
    await answer.release();
    await expect(card(page, "ch-late").count()).resolves.toBe(1);
    await expect(card(page, "ch-hold").count()).resolves.toBe(1);
    // And the page stream goes on updating the kept list.
    await report("channel.connected", "ch-late", { worker: "w1" });
    await card(page, "ch-late").locator('.badge[data-state="connected"]').waitFor({ timeout: 10_000 });
  });

  it("offers Reconnect and Remove on a disconnected channel", async () => {
    await report("channel.disconnected", "ch-sales", { worker: "w1" });
    const disconnected = card(page, "ch-sales");
    await disconnected.locator('.badge[data-state="disconnected"]').waitFor({ timeout: 10_000 });
    await expect(disconnected.locator("button").allTextContents()).resolves.toEqual(["Reconnect", "Remove"]);
    await disconnected.locator("button", { hasText: "Reconnect" }).click();
    await connector.until(() => commands("ch-sales", "channel.connect_requested").length === 2);
    await disconnected.locator('.badge[data-state="connecting"]').waitFor({ timeout: 10_000 });
  });
});
