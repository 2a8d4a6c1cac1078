import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAR_BEHIND } from "../../src/console/live.js";
import { SseClient } from "../support/sse-client.js";
import { publish, startTestServer, type TestServer } from "../support/server.js";
import { launchBrowser, signIn, waitLive } from "./browser.js";
import { CutProxy } from "./cut-proxy.js";

/** Every feed item's event id, in page order (hidden, held-back items included). */
const feedIds = (page: Page) => page.$$eval("#feed-items > li[data-id]", (lis) => lis.map((li) => Number((li as HTMLElement).dataset.id)));

/** Records each state the connection indicator passes through, from now on. */
const recordStates = (page: Page) =>
  page.evaluate(() => {
    const el = document.getElementById("connection")!;
    const w = window as unknown as { __states: string[] };
    w.__states = [el.dataset.state!];
    new MutationObserver(() => w.__states.push(el.dataset.state!)).observe(el, { attributes: true, attributeFilter: ["data-state"] });
  });
const states = (page: Page) => page.evaluate(() => (window as unknown as { __states: string[] }).__states);

/**
 * How long a page may take to be live again once its server is reachable: a
 * failure guard, never a wait. The page retries with a backoff that doubles
 * with the outage (capped at 5 s by public/console.js, ±30% jitter), and on
 * a busy machine the outage (a restart, a large publish while cut off)
 * lasts longer: a guard of a few seconds fails under load while the page
 * is doing the right thing.
 */
const BACK = 45_000;

/** Waits until the feed holds every id in `ids`. */
const waitForIds = (page: Page, ids: number[]) =>
  page.waitForFunction((want) => want.every((id) => document.querySelector(`#feed-items > li[data-id="${id}"]`)), ids, { timeout: BACK });

const mixed = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) =>
    i % 3 === 0
      ? { type: "agent.status", subject: `${tag}-${i}`, data: { status: "available", name: `Agent ${tag} ${i}` } }
      : { type: "deploy.finished", subject: `${tag}-${i}`, data: { message: `build ${tag} ${i}` } },
  );

// A short retry keeps the browser's reconnect quick; a fixed secret keeps sessions valid across the restart.
const ENV = { SSE_RETRY_MS: "200", SESSION_SECRET: "reconnect-test-secret-0123456789abcdef" };

describe("console: the page stream resumes without gap or duplicate", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let proxy: CutProxy;
  beforeAll(async () => {
    server = await startTestServer(ENV);
    // The browser reaches the server through a proxy the test can cut.
    proxy = await CutProxy.start(server.port);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    await signIn(page, proxy.url);
    await waitLive(page);
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.dispose();
  });

  it("shows every event missed while cut off exactly once, and the indicator goes live → reconnecting → live", async () => {
    const before = await publish(server, "demo", mixed(3, "before"));
    await waitForIds(page, before.body.ids);
    const online = async () => Number(await page.locator('#overview-tiles [data-tile="agents"] [data-count="online"] b').textContent());
    const onlineBefore = await online();
    await recordStates(page);

    proxy.cut();
    await page.waitForSelector('#connection:not([data-state="live"])', { timeout: 10_000 });
    const missed = [...(await publish(server, "demo", mixed(6, "missed"))).body.ids, ...(await publish(server, "demo", mixed(4, "more"))).body.ids];
    proxy.restore();

    await waitLive(page, BACK);
    await waitForIds(page, missed);
    const after = await publish(server, "demo", mixed(2, "after"));
    await waitForIds(page, after.body.ids);

    const ids = await feedIds(page);
    expect(new Set(ids).size).toBe(ids.length);
    const expected = [...before.body.ids, ...missed, ...after.body.ids];
    expect(ids.filter((id) => expected.includes(id)).sort((a, b) => a - b)).toEqual(expected);
    // Newest first, in log order.
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const seen = await states(page);
    expect(seen[0]).toBe("live");
    expect(seen.slice(1, -1)).toContain("reconnecting");
    expect(seen.at(-1)).toBe("live");
    // The agents missed meanwhile (two in each burst of mixed(), one after) are counted on the overview too.
    await expect.poll(online, { timeout: BACK }).toBe(onlineBefore + 5);
  });

  it("resumes after a server restart on the same port and database", async () => {
    const before = await publish(server, "demo", mixed(2, "pre-restart"));
    await waitForIds(page, before.body.ids);
    await recordStates(page);
    const { port, dir } = server;
    await server.close();
    await page.waitForSelector('#connection:not([data-state="live"])', { timeout: 10_000 });
    const first = server;
    const second = await startTestServer({ ...ENV, PORT: String(port) }, dir);
    // The restarted server shares the first one's directory: the first's dispose removes it.
    server = { ...second, dispose: () => second.dispose().then(() => first.dispose()) };
    const missed = await publish(server, "demo", mixed(5, "restart"));
    await waitLive(page, BACK);
    await waitForIds(page, missed.body.ids);
    const ids = await feedIds(page);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await states(page)).at(-1)).toBe("live");
    // However long a restart takes, the page tries again at least every few seconds.
    expect(await page.evaluate(() => (window as unknown as { htmx: { config: { sse: { reconnectMaxDelay: number } } } }).htmx.config.sse.reconnectMaxDelay)).toBe(5000);
  });

  it("renders once, in one frame, for a client far behind", async () => {
    const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const start = (await publish(server, "demo", { type: "deploy.started", subject: "far" })).body.ids[0] as number;
    const burst: object[] = Array.from({ length: FAR_BEHIND + 50 }, (_, i) => ({ type: "deploy.step", subject: `far-${i}`, data: { message: `step ${i}` } }));
    burst.push({ type: "agent.status", subject: "far-agent", data: { status: "error", name: "Far agent", error: "unreachable" } });
    const ids = (await publish(server, "demo", burst)).body.ids as number[];
    const head = ids.at(-1)!;

    // A raw client with the page's session, far back: one frame at the head carrying every panel and the feed.
    const raw = await SseClient.open(`${server.url}/t/demo/live`, { cookie, "last-event-id": String(start) });
    try {
      expect(raw.status).toBe(200);
      await raw.until((c) => c.messages.length >= 1);
      const live = (await publish(server, "demo", { type: "deploy.done", subject: "far-live" })).body.ids[0] as number;
      await raw.until((c) => c.ids().includes(live));
      expect(raw.ids()).toEqual([head, live]);
      const frame = raw.messages[0].data;
      expect(frame).toContain('hx-target="#overview-attention"');
      expect(frame).toContain('hx-target="#feed-items"');
      expect(frame).toContain('href="/t/demo/agents/far-agent"');
    } finally {
      raw.close();
    }

    // The page, cut off during the same kind of burst, comes back with one full render: feed and panels right.
    proxy.cut();
    await page.waitForSelector('#connection:not([data-state="live"])', { timeout: 10_000 });
    const burst2: object[] = Array.from({ length: FAR_BEHIND + 20 }, (_, i) => ({ type: "deploy.step", subject: `far2-${i}`, data: { message: `again ${i}` } }));
    burst2.push({ type: "agent.status", subject: "far2-agent", data: { status: "error", name: "Far agent 2", error: "unreachable" } });
    const ids2 = (await publish(server, "demo", burst2)).body.ids as number[];
    proxy.restore();
    await waitLive(page, BACK);
    await page.locator('#overview-attention a[href="/t/demo/agents/far2-agent"]').waitFor({ timeout: BACK });
    await waitForIds(page, ids2.slice(-10));
    const shown = await feedIds(page);
    expect(new Set(shown).size).toBe(shown.length);
    // The feed was rendered whole: exactly the newest 50, newest first.
    expect(shown).toEqual(ids2.slice(-50).reverse());
    // And it stays live afterwards.
    const next = await publish(server, "demo", { type: "deploy.done", subject: "far2-live", data: { message: "done" } });
    await waitForIds(page, next.body.ids);
  });

  it("shows events published between the page's render and its stream's connect exactly once", async () => {
    const fresh = page;
    try {
      let between: number[] = [];
      let liveUrl = "";
      // Hold the page's stream request back until events were published after the page was rendered.
      await fresh.route("**/t/demo/live?**", async (route) => {
        liveUrl = route.request().url();
        between = (await publish(server, "demo", mixed(4, "between"))).body.ids;
        await route.continue();
      });
      await fresh.goto(`${proxy.url}/t/demo`);
      const head = Number(await fresh.getAttribute(".console", "data-head"));
      await waitLive(fresh);
      await waitForIds(fresh, between);
      expect(new URL(liveUrl).searchParams.get("after")).toBe(String(head));
      expect(Math.min(...between)).toBeGreaterThan(head);
      const ids = await feedIds(fresh);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.slice(0, 4)).toEqual([...between].reverse());
      expect(ids[4]).toBe(head);
    } finally {
      await fresh.unrouteAll();
    }
  });
});
