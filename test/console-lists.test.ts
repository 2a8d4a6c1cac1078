import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAR_BEHIND } from "../src/console/live.js";
import { comparable, elementById, partialsOf, PageModel, sessionCookie } from "./support/console.js";
import { ConsoleRun } from "./support/console-run.js";
import { publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

async function head(server: TestServer): Promise<number> {
  return ((await (await fetch(`${server.url}/healthz`)).json()) as { head: number }).head;
}

const started = (id: string, data: Record<string, unknown> = {}) => ({
  type: "call.started",
  subject: id,
  data: { direction: "inbound", number: "+14155550123", agent: "ada", ...data },
});

/** The call ids of a list page's rows, in page order. */
const callIds = (html: string) => [...(elementById(html, "calls-rows") ?? "").matchAll(/data-call="([^"]+)"/g)].map((m) => m[1]);
const sessionIds = (html: string) => [...(elementById(html, "sessions-rows") ?? "").matchAll(/data-session="([^"]+)"/g)].map((m) => m[1]);

/** Every live list and part of two list pages, compared item by item (what differs by the clock aside). */
function expectSameList(live: PageModel, fresh: PageModel, parts: string[]): void {
  expect([...live.lists.keys()].sort()).toEqual([...fresh.lists.keys()].sort());
  for (const [list, items] of fresh.lists) {
    expect(live.ids(list), `the items of #${list}`).toEqual(items.map((i) => i.id));
    for (const item of items) expect(comparable(live.item(item.id)!.html), `#${item.id}`).toBe(comparable(item.html));
  }
  for (const part of parts) expect(comparable(live.targets.get(part) ?? ""), `#${part}`).toBe(comparable(fresh.targets.get(part) ?? ""));
}

describe("console lists: calls and chat sessions on their own pages", () => {
  let server: TestServer;
  let cookie: string;
  const page = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, { headers: { cookie, ...headers }, redirect: "manual" });
    return { status: res.status, html: await res.text(), headers: res.headers };
  };

  beforeAll(async () => {
    server = await startTestServer();
    cookie = await sessionCookie(server);
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("lists calls newest first, 50 a page, with filters and the page in the URL", async () => {
    // 60 calls of ada (inbound, ending 0123), then 5 outbound of grace ending 7788; the last 10 of ada ended.
    const ada = Array.from({ length: 60 }, (_, i) => started(`p-${String(i).padStart(2, "0")}`));
    const grace = Array.from({ length: 5 }, (_, i) => started(`g-${i}`, { direction: "outbound", number: "+4420718387788", agent: "grace" }));
    expect((await publish(server, "demo", [...ada, ...grace])).status).toBe(201);
    const ended = Array.from({ length: 10 }, (_, i) => ({ type: "call.ended", subject: `p-${50 + i}`, data: { duration_ms: 1000, status: "completed" } }));
    expect((await publish(server, "demo", ended)).status).toBe(201);

    const first = await page("/t/demo/calls");
    expect(first.status).toBe(200);
    // One commit, one start time: the later-created call first.
    const newestFirst = [...grace.map((c) => c.subject).reverse(), ...ada.map((c) => c.subject).reverse()];
    expect(callIds(first.html)).toEqual(newestFirst.slice(0, 50));
    expect(first.html).toContain("•••0123");
    expect(first.html).not.toMatch(/4155550123/);
    expect(first.html).toContain('href="/t/demo/calls/p-59"');
    // Its pager leads to the older page, which holds the rest.
    const older = /<a href="([^"]+)" rel="next">/.exec(elementById(first.html, "calls-pager")!)![1].replace(/&amp;/g, "&");
    expect(older).toMatch(/^\/t\/demo\/calls\?before=\d+\.\d+$/);
    const second = await page(older);
    expect(callIds(second.html)).toEqual(newestFirst.slice(50));
    expect(elementById(second.html, "calls-pager")).toContain('href="/t/demo/calls"');
    expect(elementById(second.html, "calls-pager")).not.toContain('rel="next"');

    // Each filter, alone and together; a filter's pager keeps it.
    expect(callIds((await page("/t/demo/calls?agent=grace")).html)).toEqual(grace.map((c) => c.subject).reverse());
    expect(callIds((await page("/t/demo/calls?direction=outbound")).html)).toEqual(grace.map((c) => c.subject).reverse());
    expect(callIds((await page("/t/demo/calls?last4=7788")).html)).toHaveLength(5);
    expect(callIds((await page("/t/demo/calls?status=ended")).html)).toEqual(ended.map((e) => e.subject).reverse());
    expect(callIds((await page("/t/demo/calls?status=active&agent=ada")).html)).toEqual(ada.slice(0, 50).map((c) => c.subject).reverse());
    const today = new Date().toISOString().slice(0, 10);
    expect(callIds((await page(`/t/demo/calls?from=${today}&to=${today}`)).html)).toHaveLength(50);
    expect(callIds((await page("/t/demo/calls?to=2001-01-01")).html)).toEqual([]);
    expect((await page("/t/demo/calls?to=2001-01-01")).html).toContain("No calls match these filters.");
    const ada1 = await page("/t/demo/calls?agent=ada");
    expect(elementById(ada1.html, "calls-pager")).toMatch(/href="\/t\/demo\/calls\?agent=ada&amp;before=\d+\.\d+" rel="next"/);
    // The form shows the filters the page applies; what is not valid is left out (and never reaches the stream's URL).
    const junk = await page("/t/demo/calls?status=ringing&last4=12&agent=grace&junk=1");
    expect(callIds(junk.html)).toEqual(grace.map((c) => c.subject).reverse());
    expect(junk.html).toContain('hx-sse:connect="/t/demo/live/calls?agent=grace&amp;after=');
    expect(junk.html).toMatch(/id="calls-agent" name="agent" type="text" value="grace"/);
  });

  it("answers the filter form's htmx request with the list alone, the stream reconnected and the URL to push", async () => {
    const res = await page("/t/demo/calls?direction=outbound&junk=1", { "hx-request": "true" });
    expect(res.status).toBe(200);
    expect(res.headers.get("hx-push-url")).toBe("/t/demo/calls?direction=outbound");
    expect(res.html).toMatch(/^<div id="calls-list"/);
    expect(res.html).not.toContain("calls-filter");
    expect(partialsOf(res.html).map((p) => [p.target, p.swap])).toEqual([["page-live", "outerHTML"]]);
    expect(res.html).toMatch(/hx-sse:connect="\/t\/demo\/live\/calls\?direction=outbound&amp;after=\d+"/);
  });

  it("puts a new call at the top of page 1, live, and leaves an older page as it is", async () => {
    const at = await head(server);
    const firstPage = await page("/t/demo/calls");
    const older = /<a href="\/t\/demo\/calls\?before=([^"]+)" rel="next">/.exec(firstPage.html)![1];
    const pageOne = await SseClient.open(`${server.url}/t/demo/live/calls?after=${at}`, { cookie });
    const pageTwo = await SseClient.open(`${server.url}/t/demo/live/calls?before=${older}&after=${at}`, { cookie });
    const outbound = await SseClient.open(`${server.url}/t/demo/live/calls?direction=outbound&after=${at}`, { cookie });
    try {
      const { body } = await publish(server, "demo", started("fresh-1", { number: "+15550004321" }));
      // Then one the older page shows changes: it ends.
      const end = await publish(server, "demo", { type: "call.ended", subject: "p-00", data: { duration_ms: 42_000, status: "completed" } });
      const last: number = end.body.ids[0];
      for (const c of [pageOne, pageTwo, outbound]) await c.until((s) => s.ids().includes(last));

      const one = new PageModel().load(firstPage.html, ["calls-pager"]).apply(pageOne.messages);
      expect(one.ids("calls-rows")[0]).toBe(one.ids("calls-rows").find((id) => one.item(id)!.html.includes('data-call="fresh-1"')));
      expect(one.item(one.ids("calls-rows")[0])!.html).toContain("•••4321");
      expect(one.ids("calls-rows")).toHaveLength(50);
      expectSameList(one, new PageModel().load((await page("/t/demo/calls")).html, ["calls-pager"]), ["calls-pager"]);

      const twoFrames = pageTwo.messages.flatMap((m) => partialsOf(m.data));
      // Nothing of the new call is inserted there; the call it shows that ended is morphed in place.
      expect(twoFrames.filter((p) => p.swap === "upsertMorph").map((p) => p.html).join("")).not.toContain("fresh-1");
      const endedRow = twoFrames.find((p) => p.swap === "upsertMorph" && p.html.includes('data-call="p-00"'));
      expect(endedRow?.html).toContain("0:42");
      // The outbound page's stream renders with its own filter: an inbound call is not for it.
      expect(outbound.messages.flatMap((m) => partialsOf(m.data)).filter((p) => p.swap === "upsertMorph")).toEqual([]);
      expect(body.ids).toHaveLength(1);
    } finally {
      for (const c of [pageOne, pageTwo, outbound]) c.close();
    }
  });

  it("shows a call's page: state, agent, summary, sentiment and its timeline with each event's data, live", async () => {
    expect((await page("/t/demo/calls/no-such-call")).status).toBe(404);
    expect((await page("/t/demo/calls/no-such-call")).html).toContain("There is no call");
    await publish(server, "demo", started("c-page", { number: "+1 (415) 555-0142", agent: "ada", client: "northwind" }));
    const before = await page("/t/demo/calls/c-page");
    expect(before.status).toBe(200);
    expect(before.html).toContain("Inbound call •••0142");
    expect(before.html).not.toContain("555-0142");
    expect(before.html).toContain('<a href="/t/demo/agents/ada">ada</a>');
    expect(before.html).toContain("The summary comes after the call.");
    expect(before.html).toMatch(/<details class="payload"><summary>call\.started · c-page · #\d+<\/summary><pre>\{\s+&quot;direction&quot;: &quot;inbound&quot;/);
    const liveUrl = /hx-sse:connect="([^"]+)"/.exec(before.html)![1];
    expect(liveUrl).toMatch(/^\/t\/demo\/calls\/c-page\/live\?after=\d+$/);
    const live = await SseClient.open(server.url + liveUrl, { cookie });
    try {
      await publish(server, "demo", started("c-other"));
      await publish(server, "demo", { type: "call.ended", subject: "c-page", data: { duration_ms: 184_000, status: "completed" } });
      const analyzed = await publish(server, "demo", { type: "call.analyzed", subject: "c-page", data: { summary: "Wants to move the delivery to Friday", sentiment: "positive" } });
      await live.until((c) => c.ids().includes(analyzed.body.ids[0]));
      const parts = live.messages.flatMap((m) => partialsOf(m.data));
      // Only this call's events: its card and its timeline.
      expect(live.messages.map((m) => m.data).join("\n")).not.toContain("c-other");
      const detail = parts.filter((p) => p.target === "call-detail").at(-1)!.html;
      expect(detail).toContain("Wants to move the delivery to Friday");
      expect(detail).toContain("sentiment-positive");
      expect(detail).toContain("3:04");
      const timeline = parts.filter((p) => p.target === "feed-items").map((p) => p.html).join("\n");
      expect(timeline).toContain("call.analyzed · c-page");
      expect(timeline).toContain("&quot;sentiment&quot;: &quot;positive&quot;");
    } finally {
      live.close();
    }
    const after = await page("/t/demo/calls/c-page");
    expect([...after.html.matchAll(/<summary>(call\.[a-z]+) · c-page/g)].map((m) => m[1])).toEqual(["call.analyzed", "call.ended", "call.started"]);
  });

  it("lists chat sessions by last activity with status, agent, unanswered and search filters", async () => {
    expect(
      (
        await publish(server, "demo", [
          { type: "chat.session_started", subject: "s-refund", data: { agent: "helper", title: "Refund for order 1042" } },
          { type: "chat.session_started", subject: "s-delivery", data: { agent: "sales", title: "Delivery date" } },
          { type: "chat.session_started", subject: "s-quiet", data: { agent: "helper" } },
          { type: "chat.message", subject: "s-refund", data: { message_id: "m1", text: "Where is it?", worker: "helper" } },
          { type: "chat.message", subject: "s-delivery", data: { message_id: "m1", text: "When?", worker: "sales" } },
          { type: "chat.delta", subject: "s-delivery", data: { message_id: "a1", reply_to: "m1", seq: 0, text: "Tomorrow" } },
        ])
      ).status,
    ).toBe(201);
    const list = async (q: string) => sessionIds((await page(`/t/demo/sessions${q}`)).html);
    // One commit, one time: the order among them is by creation, newest first (the list's order is checked in console-list-queries).
    expect(await list("")).toEqual(["s-quiet", "s-delivery", "s-refund"]);
    expect(await list("?status=answering")).toEqual(["s-delivery"]);
    expect(await list("?status=waiting")).toEqual(["s-refund"]);
    expect(await list("?status=idle")).toEqual(["s-quiet"]);
    expect(await list("?unread=1")).toEqual(["s-refund"]);
    expect(await list("?agent=helper")).toEqual(["s-quiet", "s-refund"]);
    expect(await list("?q=ORDER%2010")).toEqual(["s-refund"]);
    expect(await list("?q=s-qu")).toEqual(["s-quiet"]);
    expect(await list("?q=%25")).toEqual([]);
    const html = (await page("/t/demo/sessions?status=waiting")).html;
    expect(elementById(html, "session-s-refund")).toContain(">waiting<");
    expect(elementById(html, "session-s-refund")).toContain("1 unanswered");
    expect(html).toContain('href="/t/demo/sessions/s-refund"');
    // The "new session" form lives here now.
    expect(html).toContain('id="new-session"');

    // Live: the waiting list loses s-refund when its answer starts, the answering list gains it.
    const at = await head(server);
    const waiting = await SseClient.open(`${server.url}/t/demo/live/sessions?status=waiting&after=${at}`, { cookie });
    const answering = await SseClient.open(`${server.url}/t/demo/live/sessions?status=answering&after=${at}`, { cookie });
    try {
      const { body } = await publish(server, "demo", { type: "chat.delta", subject: "s-refund", data: { message_id: "a1", reply_to: "m1", seq: 0, text: "On its way" } });
      for (const c of [waiting, answering]) await c.until((s) => s.ids().includes(body.ids[0]));
      expect(waiting.messages.flatMap((m) => partialsOf(m.data)).map((p) => [p.target, p.swap])).toContainEqual(["session-s-refund", "delete"]);
      const inserted = answering.messages.flatMap((m) => partialsOf(m.data)).filter((p) => p.swap === "upsertMorph");
      expect(inserted.map((p) => p.html).join("")).toContain('data-session="s-refund"');
    } finally {
      waiting.close();
      answering.close();
    }
  });

  it("leaves the calls and sessions lists as a fresh render shows them: a seeded run, live, resumed and far behind", async () => {
    // A full first page before the run: new calls push the last ones out.
    await publish(server, "demo", Array.from({ length: 55 }, (_, i) => started(`pre-${i}`, { agent: "grace" })));
    const run = new ConsoleRun(20_261_130);
    const start = await head(server);
    const lists = ["/t/demo/calls", "/t/demo/calls?status=active", "/t/demo/sessions", "/t/demo/sessions?status=waiting"];
    const streamOf = (path: string) => path.replace("/t/demo/", "/t/demo/live/");
    const withAfter = (url: string, after: number) => `${url}${url.includes("?") ? "&" : "?"}after=${after}`;
    const PARTS = ["calls-pager", "sessions-pager"];
    const starts = await Promise.all(lists.map(async (path) => new PageModel().load((await page(path)).html, PARTS)));
    const live = await Promise.all(lists.map((path) => SseClient.open(server.url + withAfter(streamOf(path), start), { cookie })));
    let resumed: { client: SseClient; from: PageModel } | null = null;
    try {
      for (let step = 0; step < 160; step++) {
        const res = await publish(server, "demo", run.next());
        expect(res.status, `seed ${run.seed}, step ${step}: ${JSON.stringify(res.body)}`).toBe(201);
        // Halfway, the calls page resumes from the last message its live twin has seen.
        if (step === 80) {
          const seen = live[0].messages.filter((m) => m.id !== undefined);
          const at = seen.at(-1)?.id ?? String(start);
          resumed = { client: await SseClient.open(server.url + streamOf(lists[0]), { cookie, "last-event-id": at }), from: starts[0].copy().apply(seen) };
        }
      }
      // A last call and a last session: each list's stream has caught up once it has its own.
      const lastCall = (await publish(server, "demo", started("last-call"))).body.ids[0] as number;
      const lastSession = (await publish(server, "demo", { type: "chat.session_started", subject: "last-session", data: { agent: "helper" } })).body.ids[0] as number;
      expect(lastSession - start).toBeGreaterThan(FAR_BEHIND);
      const far = await SseClient.open(server.url + streamOf(lists[2]), { cookie, "last-event-id": String(start) });
      live.push(far, resumed!.client);
      const caughtUp = [lastCall, lastCall, lastSession, lastSession, lastSession, lastCall];
      await Promise.all(live.map((c, i) => c.until((s) => s.ids().some((id) => id >= caughtUp[i]), 30_000)));
      const fresh = await Promise.all(lists.map(async (path) => new PageModel().load((await page(path)).html, PARTS)));
      lists.forEach((path, i) => expectSameList(starts[i].copy().apply(live[i].messages), fresh[i], PARTS));
      expectSameList(resumed!.from.apply(resumed!.client.messages), fresh[0], PARTS);
      expectSameList(starts[2].copy().apply(far.messages), fresh[2], PARTS);
      // The run filled the first pages: bounded lists were trimmed, items left the filtered ones.
      expect(fresh[0].ids("calls-rows")).toHaveLength(50);
      expect(fresh[2].ids("sessions-rows").length).toBeGreaterThan(12);
    } finally {
      for (const c of live) c.close();
    }
  });

  it("takes calls and sessions off the tenant console page; the all-tenants view keeps its call panel", async () => {
    const consolePage = await page("/t/demo");
    expect(consolePage.status).toBe(200);
    expect(consolePage.html).not.toContain('id="calls"');
    expect(consolePage.html).not.toContain('id="sessions"');
    const admin = await page("/admin");
    expect(admin.html).toContain('id="calls"');
    expect(admin.html).toContain('data-call="fresh-1"');
    // Its rows link to each call's page, in its tenant.
    expect(admin.html).toContain('href="/t/demo/calls/fresh-1"');
  });
});
