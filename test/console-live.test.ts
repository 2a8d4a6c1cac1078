import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { feedAfter, itemsOf, PageModel, partialsOf, sessionCookie } from "./support/console.js";
import { Probe } from "./support/probe.js";
import { RawStream } from "./support/raw-stream.js";
import { publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { tenantKey } from "./support/tenants.js";

/** A gauge's value on /metrics, or null when it is not exported. */
async function gauge(server: TestServer, name: string): Promise<number | null> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : null;
}

async function head(server: TestServer): Promise<number> {
  return ((await (await fetch(`${server.url}/healthz`)).json()) as { head: number }).head;
}

/** `n` agent.status events for agents a-0…a-(n-1), `tag` in their names. */
const statuses = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ type: "agent.status", subject: `a-${i}`, data: { status: i % 2 ? "busy" : "available", name: `${tag} ${i}` } }));

/**
 * Console page streams render off the commit path: once per group of
 * identical pages per turn, a burst as one message whose id is its last
 * event, groups keyed by validated filters only, and a bound on them.
 */
describe("console page streams", () => {
  let server: TestServer;
  let cookie: string;
  const open: SseClient[] = [];
  const raw: RawStream[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    cookie = await sessionCookie(server);
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    for (const s of raw.splice(0)) s.destroy();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("groups pages by their filters only: 300 streams with junk parameters make one group", async () => {
    const streams = Array.from({ length: 300 }, (_, i) => RawStream.open(server.url, `/t/demo/live/agents?junk=${i}&status=nonsense${i}&before=x${i}`, { cookie }));
    raw.push(...streams);
    await vi.waitFor(() => expect(streams.filter((s) => s.head().startsWith("HTTP/1.1 200")).length).toBe(300), { timeout: 30_000, interval: 50 });
    expect(await gauge(server, "switchboard_console_page_groups")).toBe(1);

    const { status, body } = await publish(server, "demo", statuses(1, "Junk"));
    expect(status).toBe(201);
    const id: number = body.ids[0];
    await vi.waitFor(() => expect(streams.filter((s) => s.ids().includes(id)).length).toBe(300), { timeout: 30_000, interval: 50 });
    // Every page got the same bytes: one render served them all.
    const frames = new Set(streams.map((s) => s.body().text.split("\n\n").find((f) => f.startsWith(`id: ${id}\n`))));
    expect(frames.size).toBe(1);

    for (const s of raw.splice(0)) s.destroy();
    await expect.poll(() => gauge(server, "switchboard_console_page_groups"), { timeout: 10_000 }).toBe(0);
  });

  it("sends a burst as fewer messages than events, ending on its last id, with every feed item in order", async () => {
    const at = await head(server);
    const page = await SseClient.open(`${server.url}/t/demo/live?after=${at}`, { cookie });
    const agents = await SseClient.open(`${server.url}/t/demo/live/agents?after=${at}`, { cookie });
    open.push(page, agents);
    expect([page.status, agents.status]).toEqual([200, 200]);

    const n = 40;
    const { status, body } = await publish(server, "demo", statuses(n, "Burst"));
    expect(status).toBe(201);
    const ids: number[] = body.ids;
    await page.until((c) => c.ids().includes(ids[n - 1]), 20_000);
    await agents.until((c) => c.ids().includes(ids[n - 1]), 20_000);

    const frames = page.messages.filter((m) => m.id !== undefined);
    expect(frames.length).toBeLessThan(n);
    expect(frames.at(-1)!.id).toBe(String(ids[n - 1]));
    // The page ends as it would after one message per event: every item, newest first…
    expect(feedAfter(frames)).toEqual([...ids].reverse());
    // …and the agents list page showing every agent as the burst left it, each row sent once, in name order.
    const listFrames = agents.messages.filter((m) => m.id !== undefined);
    expect(listFrames.length).toBeLessThan(n);
    const rows = listFrames.flatMap((m) => partialsOf(m.data)).filter((p) => p.target === "agents-rows").flatMap((p) => itemsOf(p.html));
    expect(rows.map((r) => r.id).sort()).toEqual(Array.from({ length: n }, (_, i) => `agent-a-${i}`).sort());
    const shown = new PageModel().apply(listFrames);
    const byName = Array.from({ length: n }, (_, i) => i).sort((a, b) => (`Burst ${a}` < `Burst ${b}` ? -1 : 1));
    expect(shown.ids("agents-rows")).toEqual(byName.map((i) => `agent-a-${i}`));
    for (let i = 0; i < n; i++) {
      const row = shown.item(`agent-a-${i}`)!.html;
      expect(row).toMatch(new RegExp(`class="row agent ${i % 2 ? "busy" : "available"}" data-agent="a-${i}">`));
      expect(row).toContain(`Burst ${i}`);
    }
  });

  it("resumes exactly from a coalesced message's id, and replays a page of history as one message", async () => {
    const from = await head(server);
    const { body } = await publish(server, "demo", statuses(30, "Resume"));
    const ids: number[] = body.ids;

    // From the middle of the burst: the rest in one message, each item once.
    const mid = await SseClient.open(`${server.url}/t/demo/live?after=${from}`, { cookie, "last-event-id": String(ids[9]) });
    open.push(mid);
    await mid.until((c) => c.ids().includes(ids[29]), 20_000);
    expect(mid.ids()).toEqual([ids[29]]);
    expect(feedAfter(mid.messages)).toEqual(ids.slice(10).reverse());

    // From its last id: nothing again, then the next event alone.
    const end = await SseClient.open(`${server.url}/t/demo/live?after=${from}`, { cookie, "last-event-id": String(ids[29]) });
    open.push(end);
    const next = (await publish(server, "demo", statuses(1, "Next"))).body.ids[0] as number;
    await end.until((c) => c.ids().includes(next), 20_000);
    expect(end.ids()).toEqual([next]);
    expect(feedAfter(end.messages)).toEqual([next]);
  });

  it("renders each group's panels with its own filters, sharing only what they show alike", async () => {
    const at = await head(server);
    const busyList = await SseClient.open(`${server.url}/t/demo/live/agents?status=busy&after=${at}`, { cookie });
    const allList = await SseClient.open(`${server.url}/t/demo/live/agents?after=${at}`, { cookie });
    const busy = await SseClient.open(`${server.url}/t/demo/live?after=${at}`, { cookie });
    const all = await SseClient.open(`${server.url}/t/demo/live?topic=agent&after=${at}`, { cookie });
    open.push(busyList, allList, busy, all);
    const { body } = await publish(server, "demo", [
      ...statuses(4, "Shared"),
      { type: "channel.connect_requested", subject: "ch-shared", data: { platform: "sms", name: "Line 9876", kind: "channels" } },
    ]);
    const last: number = body.ids.at(-1);
    await busy.until((c) => c.ids().includes(last), 20_000);
    await all.until((c) => c.ids().includes(last), 20_000);
    const agentsDone = body.ids[3] as number;
    await busyList.until((c) => c.ids().includes(agentsDone), 20_000);
    await allList.until((c) => c.ids().includes(agentsDone), 20_000);
    const latest = (page: SseClient, target: string) => page.messages.flatMap((m) => partialsOf(m.data)).filter((p) => p.target === target).at(-1)!.html;

    // Each agents list page follows its own filter: the busy page gets only the busy agents' rows.
    expect(latest(busyList, "agents-rows")).toContain('data-agent="a-1"');
    expect(latest(busyList, "agents-rows")).not.toContain('data-agent="a-0"');
    expect(latest(allList, "agents-rows")).toContain('data-agent="a-0"');
    // The overview reads none of the feed's filters: both pages get the same tiles.
    expect(latest(busy, "overview-tiles")).toBe(latest(all, "overview-tiles"));
    // Each feed keeps its own filter: the topic=agent page shows no channel.
    expect(feedAfter(busy.messages)).toEqual([...body.ids].reverse());
    expect(feedAfter(all.messages)).toEqual(body.ids.slice(0, 4).reverse());
  });

  it("renders bursts from many concurrent publishers in order, each publisher acknowledged", async () => {
    const page = await SseClient.open(`${server.url}/t/demo/live?after=${await head(server)}`, { cookie });
    open.push(page);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => publish(server, "demo", { type: "note.added", subject: `n-${i}`, data: { text: `note ${i}` } })));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    const ids = answers.map((a) => a.body.ids[0] as number).sort((a, b) => a - b);
    await page.until((c) => c.ids().includes(ids.at(-1)!), 20_000);
    const seen = page.ids();
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(feedAfter(page.messages)).toEqual([...ids].reverse());
  });
});

describe("page groups per tenant", () => {
  let server: TestServer;
  let cookie: string;
  const pages: SseClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({ CONSOLE_MAX_PAGE_GROUPS_PER_TENANT: "3" });
    await tenantKey(server, "other");
    cookie = await sessionCookie(server);
  });
  afterAll(async () => {
    for (const p of pages) p.close();
    await server?.dispose();
  });

  const live = async (path: string) => {
    const page = await SseClient.open(server.url + path, { cookie });
    pages.push(page);
    return page;
  };

  it("answers 429 with Retry-After past the bound; the same filters still join, and room comes back", async () => {
    const a = await live("/t/demo/live/agents?q=alpha");
    const b = await live("/t/demo/live/agents?q=beta");
    const c = await live("/t/demo/agents/a-1/live");
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);

    const refused = await fetch(`${server.url}/t/demo/live/workflows?state=failed`, { headers: { cookie, accept: "text/event-stream" } });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const answer = (await refused.json()) as { error: string; message: string };
    expect(answer.error).toBe("too_many_page_groups");
    expect(answer.message).toContain("CONSOLE_MAX_PAGE_GROUPS_PER_TENANT");

    // A page showing what an open one shows joins its group, whatever else its URL carries.
    const same = await live("/t/demo/live/agents?junk=1&q=%20alpha%20");
    expect(same.status).toBe(200);
    // Another tenant has its own bound.
    expect((await live("/t/other/live/agents?q=gamma")).status).toBe(200);

    b.close();
    await vi.waitFor(async () => {
      const retry = await live("/t/demo/live/workflows?state=failed");
      expect(retry.status).toBe(200);
    }, { timeout: 10_000, interval: 100 });
  });
});

describe("many differently filtered console pages beside another tenant", () => {
  let server: TestServer;
  let probe: Probe;
  const pages: RawStream[] = [];

  beforeAll(async () => {
    server = await startTestServer({ CONSOLE_MAX_PAGE_GROUPS_PER_TENANT: "500" });
    probe = await Probe.open(server);
  });
  afterAll(async () => {
    probe?.close();
    for (const p of pages) p.destroy();
    await server?.dispose();
  });

  it("keeps the probe served and every publisher acknowledged while 100 page groups render bursts", async () => {
    const cookie = await sessionCookie(server);
    // Agents list pages, each its own search: every group renders its rows or its counts for each burst.
    for (let i = 0; i < 100; i++) pages.push(RawStream.open(server.url, `/t/demo/live/agents?q=${i % 10}-${i}`, { cookie }));
    await vi.waitFor(() => expect(pages.filter((p) => p.head().startsWith("HTTP/1.1 200")).length).toBe(100), { timeout: 30_000, interval: 50 });
    expect(await gauge(server, "switchboard_console_page_groups")).toBe(100);

    const bursts = Promise.all(Array.from({ length: 10 }, (_, i) => publish(server, "demo", statuses(20, `Load ${i}`))));
    const served = Promise.all([probe.roundTrip(), probe.health(), probe.roundTrip(), probe.health(), probe.roundTrip()]);
    const answers = await bursts;
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    const [, healthA, , healthB] = await served;
    expect([healthA, healthB]).toEqual([200, 200]);

    const last = Math.max(...answers.flatMap((a) => a.body.ids as number[]));
    await vi.waitFor(() => expect(pages.filter((p) => p.ids().at(-1) === last).length).toBe(100), { timeout: 60_000, interval: 100 });
  });
});
