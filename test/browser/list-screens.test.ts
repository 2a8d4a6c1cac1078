import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publish, startTestServer, type TestServer } from "../support/server.js";
import { ARTIFACTS, launchBrowser, signIn, waitLive } from "./browser.js";

const SIZES = { laptop: { width: 1366, height: 768 }, phone: { width: 390, height: 844 } };

/** A day of calls and chats: active and ended calls, an analyzed one, sessions waiting, answering and idle. */
const DAY = [
  ...Array.from({ length: 12 }, (_, i) => ({
    type: "call.started",
    subject: `call-${i}`,
    data: { direction: i % 3 ? "inbound" : "outbound", number: `+1415555${String(1000 + i * 37)}`, agent: ["ada", "grace", "linus"][i % 3], client: i % 2 ? "northwind" : "acme" },
  })),
  ...Array.from({ length: 8 }, (_, i) => ({ type: "call.ended", subject: `call-${i}`, data: { duration_ms: 30_000 + i * 41_000, status: ["completed", "no-answer", "completed", "busy"][i % 4] } })),
  { type: "call.analyzed", subject: "call-2", data: { summary: "The caller wants to move Friday's delivery to Monday morning and asked whether the courier can leave the parcel with a neighbour.", sentiment: "positive" } },
  { type: "chat.session_started", subject: "s-refund", data: { agent: "helper", title: "Refund for order 1042" } },
  { type: "chat.session_started", subject: "s-delivery", data: { agent: "sales", title: "Delivery date for a very long order name that keeps going" } },
  { type: "chat.session_started", subject: "s-quiet", data: { agent: "helper" } },
  { type: "chat.message", subject: "s-refund", data: { message_id: "m1", text: "Where is it?", worker: "helper" } },
  { type: "chat.message", subject: "s-delivery", data: { message_id: "m1", text: "When?", worker: "sales" } },
  { type: "chat.delta", subject: "s-delivery", data: { message_id: "a1", reply_to: "m1", seq: 0, text: "Tomorrow" } },
];

/**
 * The calls list, a call's page and the sessions list at 1366 and 390 px,
 * light and dark, left in test/artifacts/ for a person to look at; nothing
 * is wider than the phone's screen.
 */
describe("console: how the calls and sessions lists look", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "600000" });
    for (const e of DAY) expect((await publish(server, "demo", e)).status).toBe(201);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: SIZES.laptop });
    await signIn(page, server.url);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  for (const [name, path] of [["calls", "/t/demo/calls"], ["call", "/t/demo/calls/call-2"], ["sessions", "/t/demo/sessions"]] as const) {
    it(`${name}: laptop and phone, light and dark`, async () => {
      for (const scheme of ["light", "dark"] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        for (const [size, viewport] of Object.entries(SIZES)) {
          await page.setViewportSize(viewport);
          await page.goto(server.url + path);
          await waitLive(page);
          if (name === "call") await page.locator(".call-timeline details").first().evaluate((d) => ((d as HTMLDetailsElement).open = true));
          await page.screenshot({ path: resolve(ARTIFACTS, `${name}-${size}-${scheme}.png`), fullPage: true });
          expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} ${size} ${scheme}`).toBeLessThanOrEqual(viewport.width);
        }
      }
    });
  }
});
