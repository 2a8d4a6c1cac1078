import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAR_BEHIND } from "../src/console/live.js";
import { comparable, partialsOf, PageModel, sessionCookie } from "./support/console.js";
import { ConsoleRun } from "./support/console-run.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

async function head(server: TestServer): Promise<number> {
  return ((await (await fetch(`${server.url}/healthz`)).json()) as { head: number }).head;
}

/** The small parts a page's panels re-render whole. */
const PARTS = ["agents-summary", "workflows-count"];

/** The tenant console as a fresh render shows it now. */
async function freshPage(server: TestServer, cookie: string): Promise<string> {
  const res = await fetch(`${server.url}/t/demo`, { headers: { cookie } });
  expect(res.status).toBe(200);
  return res.text();
}

/** Every live list and part of two pages, compared item by item (what differs by the clock or the session aside). */
function expectSamePage(live: PageModel, fresh: PageModel): void {
  expect([...live.lists.keys()].sort()).toEqual([...fresh.lists.keys()].sort());
  for (const [list, items] of fresh.lists) {
    expect(live.ids(list), `the items of #${list}`).toEqual(items.map((i) => i.id));
    for (const item of items) expect(comparable(live.item(item.id)!.html), `#${item.id}`).toBe(comparable(item.html));
  }
  for (const part of PARTS) expect(comparable(live.targets.get(part) ?? ""), `#${part}`).toBe(comparable(fresh.targets.get(part) ?? ""));
}

/**
 * Page streams send items, not panels: the one card a progress report
 * changed, new items inserted in order, items that left removed. What a
 * page holds after its stream must be what a fresh render shows.
 */
describe("console page streams send only the items that changed", () => {
  let server: TestServer;
  let cookie: string;

  beforeAll(async () => {
    server = await startTestServer({ PRESENCE_GRACE_MS: "100" });
    cookie = await sessionCookie(server);
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("sends a progress report as the one card's progress, under 2 KB, whatever else the page shows", async () => {
    const stages = ["extract", "validate", "enrich", "render", "deliver"];
    const started = Array.from({ length: 6 }, (_, i) => ({
      type: "workflow.started",
      subject: `wf-invoice-batch-2024-00${i}`,
      data: { name: `Invoice batch 2024-00${i} for the northern region`, stages, worker: "runner-1", stage: "extract", task: "page 1 of 40" },
    }));
    const calls = Array.from({ length: 8 }, (_, i) => ({ type: "call.started", subject: `call-${i}`, data: { direction: "inbound", number: `+1415555${1000 + i}`, agent: "ada" } }));
    const agents = Array.from({ length: 8 }, (_, i) => ({ type: "agent.status", subject: `agent-${i}`, data: { status: "busy", name: `Agent ${i}`, capabilities: ["voice"] } }));
    expect((await publish(server, "demo", [...started, ...calls, ...agents])).status).toBe(201);
    const page = await SseClient.open(`${server.url}/t/demo/live?after=${await head(server)}`, { cookie });
    try {
      const tick = await publish(server, "demo", {
        type: "workflow.progress",
        subject: "wf-invoice-batch-2024-003",
        data: { progress: 0.42, stage: "validate", task: "invoice 17 of 40, customer Müller & Söhne GmbH" },
      });
      const id: number = tick.body.ids[0];
      await page.until((c) => c.ids().includes(id));
      const frame = page.messages.find((m) => m.id === String(id))!;
      const bytes = Buffer.byteLength(`id: ${id}\ndata: ${frame.data.replace(/\n/g, "\ndata: ")}\n\n`);
      expect(bytes).toBeLessThanOrEqual(2048);
      const parts = partialsOf(frame.data);
      // The card's progress, morphed in place, and the feed's folded line; nothing else.
      expect(parts.map((p) => [p.target, p.swap])).toEqual([
        ["wf-wf-invoice-batch-2024-003-progress", "outerMorph"],
        ["feed-items", "foldMorph"],
      ]);
      expect(parts[0].html).toContain('aria-valuenow="42"');
      expect(parts[0].html).toContain("invoice 17 of 40");
      expect(frame.data).not.toMatch(/wf-invoice-batch-2024-00[^3]/);
    } finally {
      page.close();
    }
  });

  // Calls and sessions have list pages of their own: console-lists.test.ts runs the same check on them.
  it("leaves every list as a fresh render shows it: seeded runs of agents, channels and workflows, live, resumed and far behind", async () => {
    const run = new ConsoleRun(20_241_107);
    const start = await head(server);
    const startPage = new PageModel().load(await freshPage(server, cookie), PARTS);
    const live = await SseClient.open(`${server.url}/t/demo/live?after=${start}`, { cookie });
    const filtered = await SseClient.open(`${server.url}/t/demo/live?agent_status=busy&after=${start}`, { cookie });
    const filteredStart = new PageModel().load(await (await fetch(`${server.url}/t/demo?agent_status=busy`, { headers: { cookie } })).text(), PARTS);
    const worker = { stream: null as SseClient | null };

    let resumed: { client: SseClient; from: PageModel } | null = null;
    for (let step = 0; step < 120; step++) {
      // The workflows' worker comes and goes: its cards say whether a control could reach it.
      if (step === 5) worker.stream = await SseClient.open(`${server.url}/api/v1/tenants/demo/workers/runner-1/commands`, { authorization: `Bearer ${ADMIN_KEY}` });
      if (step === 100) worker.stream?.close();
      const res = await publish(server, "demo", run.next());
      expect(res.status, `seed ${run.seed}, step ${step}: ${JSON.stringify(res.body)}`).toBe(201);
      // Halfway, a page resumes from the last message the live page has seen: it catches up from the log.
      if (step === 60) {
        const seen = live.messages.filter((m) => m.id !== undefined);
        const at = seen.at(-1)?.id ?? String(start);
        resumed = { client: await SseClient.open(`${server.url}/t/demo/live`, { cookie, "last-event-id": at }), from: startPage.copy().apply(seen) };
      }
    }
    // The worker's drop shows once its grace period is over.
    await expect.poll(async () => (await (await fetch(`${server.url}/api/v1/tenants/demo/agents/runner-1`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()).agent.connected, { timeout: 10_000 }).toBe(false);
    const end = await head(server);
    // A page far behind gets its panels whole, then goes on live.
    const far = await SseClient.open(`${server.url}/t/demo/live`, { cookie, "last-event-id": String(start) });
    expect(end - start).toBeGreaterThan(FAR_BEHIND);
    const clients = [live, filtered, resumed!.client, far];
    try {
      for (const c of clients) await c.until((s) => s.ids().includes(end), 30_000);
      const fresh = new PageModel().load(await freshPage(server, cookie), PARTS);
      expectSamePage(startPage.copy().apply(live.messages), fresh);
      expectSamePage(resumed!.from.apply(resumed!.client.messages), fresh);
      expectSamePage(startPage.copy().apply(far.messages), fresh);
      const freshBusy = new PageModel().load(await (await fetch(`${server.url}/t/demo?agent_status=busy`, { headers: { cookie } })).text(), PARTS);
      expectSamePage(filteredStart.apply(filtered.messages), freshBusy);
      // The run made full lists: bounded ones were trimmed, some items left their list; and cards of a worker that came and went.
      expect(fresh.lists.get("wf-active")!.some((card) => card.html.includes("runner-1") && card.html.includes("worker offline"))).toBe(true);
      expect(fresh.ids("wf-finished").length).toBe(4);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
