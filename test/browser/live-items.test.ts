import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleRun } from "../support/console-run.js";
import { api, publish, startTestServer, type TestServer } from "../support/server.js";
import type { SseClient } from "../support/sse-client.js";
import { commandStream, received, untilConnected } from "../support/workflows.js";
import { ARTIFACTS, launchBrowser, signIn, waitLive } from "./browser.js";

const card = (page: Page, id: string) => page.locator(`article.workflow[data-workflow="${id}"]`);

/** Live page-stream messages the page has applied so far (counted from now on by `countFrames`). */
const countFrames = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __frames: number };
    w.__frames = 0;
    document.addEventListener("htmx:sse:after:message", () => w.__frames++);
  });
const frames = (page: Page) => page.evaluate(() => (window as unknown as { __frames: number }).__frames);

/** The workflow's control commands in the log, oldest first. */
async function controls(server: TestServer, id: string): Promise<string[]> {
  const res = await api(server, "/api/v1/tenants/demo/events?after=0&limit=1000&types=workflow.control_requested");
  const { events } = (await res.json()) as { events: { subject: string; data: { action: string } }[] };
  return events.filter((e) => e.subject === id).map((e) => e.data.action);
}

/**
 * A worker that obeys at once: each pause or resume it receives is
 * confirmed, as the demo's runner does, so the operator can press again.
 */
function obey(server: TestServer, worker: SseClient): { stop(): void } {
  let stopped = false;
  void (async () => {
    let handled = 0;
    while (!stopped) {
      await worker.until((w) => stopped || received(w).length > handled, 600_000).catch(() => undefined);
      for (const command of received(worker).slice(handled)) {
        handled++;
        if (stopped) break;
        const type = command.data.action === "pause" ? "workflow.paused" : command.data.action === "resume" ? "workflow.resumed" : null;
        if (type) await publish(server, "demo", { type, subject: command.subject });
      }
    }
  })();
  return { stop: () => (stopped = true) };
}

/** Progress reports for `ids`, one after another, until stopped: the live updates the operator works through. */
function tick(server: TestServer, ids: string[]): { stop(): Promise<void> } {
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const id = ids[i % ids.length];
      await publish(server, "demo", { type: "workflow.progress", subject: id, data: { progress: (i % 100) / 100 } });
      // A producer's pace, not a wait for anything: a report every few milliseconds.
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/**
 * Every live list, count and feed item of a document, as comparable text:
 * attributes sorted, times and session tokens left out (they differ by the
 * clock and the session), htmx's own marks, versions and held-back state
 * ignored.
 * Runs in the page, on the live document and on a fresh one alike.
 */
function pageState(doc: Document) {
  const canon = (node: Node): string => {
    if (node.nodeType === 3) return node.textContent!;
    if (node.nodeType !== 1) return "";
    const el = node as Element;
    if (el.tagName === "TIME") return "<time>";
    const attrs = [...el.attributes]
      // data-version: a card whose progress part alone was updated keeps the version of its last whole update.
      // An empty style is left by a press (htmx marks the form while its request runs).
      .filter((a) => !/^(data-htmx|data-version$|hidden$|data-held$)/.test(a.name) && !(a.name === "style" && a.value === ""))
      .map((a) => {
        if (a.name === "class") return `class=${a.value.split(/\s+/).filter((c) => c && !c.startsWith("htmx-")).sort().join(" ")}`;
        if (a.name === "value" && el.getAttribute("name") === "_csrf") return "value=";
        return `${a.name}=${a.value}`;
      })
      .sort();
    return `<${el.tagName} ${attrs.join(" ")}>${[...el.childNodes].map(canon).join("")}</${el.tagName}>`;
  };
  const text = (el: Element | null) => (el ? canon(el).replace(/\s+/g, " ").replace(/> </g, "><") : null);
  const lists: Record<string, string[]> = {};
  for (const list of doc.querySelectorAll(".live-list")) lists[list.id] = [...list.children].map((item) => text(item)!);
  const parts = Object.fromEntries(["overview-tiles", "overview-attention", "workflow-tabs", "workflows-pager"].map((id) => [id, text(doc.getElementById(id))]));
  const feed = [...doc.querySelectorAll("#feed-items > li[data-id]")].slice(0, 50).map((li) => text(li)!);
  return { lists, parts, feed };
}

describe("console: live items", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let worker: SseClient;
  beforeAll(async () => {
    // A pause left pending must not expire in the middle of a later comparison.
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "600000" });
    worker = await commandStream(server, "runner-1");
    await untilConnected(server, "runner-1");
    for (const [id, name] of [["wf-press", "Press me"], ["wf-a", "Neighbour A"], ["wf-b", "Neighbour B"]]) {
      const res = await publish(server, "demo", { type: "workflow.started", subject: id, data: { name, stages: ["fetch", "render"], worker: "runner-1", stage: "fetch", task: `task of ${name}` } });
      expect(res.status).toBe(201);
    }
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    page.on("dialog", (d) => void d.accept().catch(() => undefined));
    await signIn(page, server.url);
    // The workflow cards live on the workflows list.
    await page.goto(`${server.url}/t/demo/workflows`);
    await waitLive(page);
  });
  afterAll(async () => {
    worker?.close();
    await browser?.close();
    await server?.dispose();
  });

  // Fifty presses, each waiting for its round trip through the worker: on a loaded machine about a second each.
  it("loses no press: 50 Pause/Resume presses while progress updates arrive all reach the server", async () => {
    const obeying = obey(server, worker);
    const ticking = tick(server, ["wf-press", "wf-a", "wf-b"]);
    await countFrames(page);
    try {
      for (let i = 0; i < 50; i++) {
        const label = i % 2 === 0 ? "Pause" : "Resume";
        const button = card(page, "wf-press").getByRole("button", { name: label, exact: true });
        await expect.poll(() => button.isEnabled().catch(() => false), { timeout: 10_000 }).toBe(true);
        // The mouse presses where the button is on screen: wherever the layout puts the card, it is scrolled into view first.
        await button.scrollIntoViewIfNeeded();
        const box = (await button.boundingBox())!;
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        // A person's press lasts a moment: at least one live update lands while the button is held down.
        const seen = await frames(page);
        await page.mouse.down();
        await expect.poll(() => frames(page), { timeout: 10_000 }).toBeGreaterThan(seen);
        await page.mouse.up();
        // Every press is a command in the log.
        await expect.poll(() => controls(server, "wf-press").then((c) => c.length), { timeout: 10_000, message: `press ${i + 1} (${label}) never reached the server` }).toBe(i + 1);
      }
    } finally {
      await ticking.stop();
      obeying.stop();
    }
    const sent = await controls(server, "wf-press");
    expect(sent).toEqual(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? "pause" : "resume")));
    // The worker received each of them too.
    await worker.until((w) => received(w).filter((c) => c.subject === "wf-press").length === 50, 10_000);
  }, 240_000);

  it("keeps focus, a text selection, the card's elements and the bar's transition through progress updates", async () => {
    await card(page, "wf-a").waitFor();
    // The operator tabs to wf-a's Pause button and selects its task line.
    const handles = await page.evaluate(() => {
      const article = document.querySelector('article[data-workflow="wf-a"]') as HTMLElement & { __mark?: number };
      article.__mark = 1;
      (article.querySelector(".wf-pause") as HTMLButtonElement).focus();
      const task = article.querySelector(".wf-task")!;
      window.getSelection()!.selectAllChildren(task);
      const w = window as unknown as { __transitions: number };
      w.__transitions = 0;
      document.addEventListener("transitionrun", (e) => {
        if ((e.target as Element).matches?.('article[data-workflow="wf-a"] .fill') && (e as TransitionEvent).propertyName === "width") w.__transitions++;
      });
      return { selected: window.getSelection()!.toString() };
    });
    expect(handles.selected).toContain("task of Neighbour A");

    for (const progress of [0.2, 0.4, 0.6, 0.8]) {
      await publish(server, "demo", { type: "workflow.progress", subject: "wf-a", data: { progress } });
      await publish(server, "demo", { type: "workflow.progress", subject: "wf-b", data: { progress } });
    }
    await card(page, "wf-a").locator('[role="progressbar"][aria-valuenow="80"]').waitFor({ timeout: 5000 });
    const after = await page.evaluate(() => {
      const article = document.querySelector('article[data-workflow="wf-a"]') as HTMLElement & { __mark?: number };
      return {
        sameCard: article.__mark === 1,
        focused: document.activeElement === article.querySelector(".wf-pause"),
        selected: window.getSelection()!.toString(),
        transitions: (window as unknown as { __transitions: number }).__transitions,
      };
    });
    expect(after.sameCard).toBe(true);
    expect(after.focused).toBe(true);
    expect(after.selected).toBe(handles.selected);
    // The bar moved by transition, not by jumping: the same fill element, its width animated.
    expect(after.transitions).toBeGreaterThan(0);
    // The keyboard still works on the kept button: Enter presses Pause.
    await page.keyboard.press("Enter");
    await card(page, "wf-a").locator(".wf-notice", { hasText: "pause requested…" }).waitFor({ timeout: 5000 });
    await page.screenshot({ path: resolve(ARTIFACTS, "console-live-items.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: resolve(ARTIFACTS, "console-live-items-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1366, height: 860 });
  });

  it("leaves the pages as a fresh render shows them after a seeded run of every kind of change", async () => {
    const run = new ConsoleRun(7_340_117);
    // The workflows list (this page) and the console beside it.
    const other = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    const overview = await other.newPage();
    await signIn(overview, server.url);
    await waitLive(overview);
    const pages = [page, overview];
    for (const p of pages) {
      await p.evaluate(() => {
        const w = window as unknown as { __lastId: string };
        document.addEventListener("htmx:sse:after:message", (e) => (w.__lastId = (e as CustomEvent).detail.message.id));
      });
    }
    for (let step = 0; step < 120; step++) {
      const res = await publish(server, "demo", run.next());
      expect(res.status, `seed ${run.seed}, step ${step}: ${JSON.stringify(res.body)}`).toBe(201);
    }
    // Last, an event both pages show: each has applied everything once it has this one.
    const end = await publish(server, "demo", { type: "workflow.started", subject: "wf-end", data: { name: "The end", stages: ["one"], worker: "runner-1" } });
    const last: number = end.body.ids[0];
    type State = ReturnType<typeof pageState>;
    const states: Record<string, State> = {};
    for (const p of pages) {
      await p.waitForFunction((id) => Number((window as unknown as { __lastId: string }).__lastId) >= id, last, { timeout: 30_000 });
      const state = (await p.evaluate(`(${pageState})(document)`)) as State;
      // The same page rendered afresh, read by the same function.
      const fresh = (await p.evaluate(`fetch(location.pathname + location.search).then((r) => r.text()).then((html) => (${pageState})(new DOMParser().parseFromString(html, "text/html")))`)) as State;
      expect(Object.keys(state.lists).sort()).toEqual(Object.keys(fresh.lists).sort());
      for (const list of Object.keys(fresh.lists)) expect(state.lists[list], `#${list}`).toEqual(fresh.lists[list]);
      expect(state.parts).toEqual(fresh.parts);
      expect(state.feed).toEqual(fresh.feed);
      states[new URL(p.url()).pathname] = fresh;
    }
    await other.close();
    // (Calls and sessions have list pages of their own: test/console-lists.test.ts checks those the same way.)
    expect(states["/t/demo"].parts["overview-tiles"]).not.toBeNull();
    expect(states["/t/demo/workflows"].lists["wf-rows"].length).toBeGreaterThan(4);
  });
});
