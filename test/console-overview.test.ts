import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ATTENTION_SIZE } from "../src/console/overview.js";
import { tenantNav } from "../src/console/layout.js";
import { agentsOverview } from "../src/domain/agents/overview.js";
import { callsOverview } from "../src/domain/calls/overview.js";
import { channelsOverview } from "../src/domain/channels/overview.js";
import { chatOverview } from "../src/domain/chat/overview.js";
import { workflowsOverview } from "../src/domain/workflows/overview.js";
import { openDb } from "../src/store/db.js";
import { partialsOf, sessionCookie } from "./support/console.js";
import { testBackend } from "./support/postgres-backend.js";
import { publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/** The count a tile shows behind the link to `href` labelled `label` ("3", "999+"), or null when there is no such link. */
function countAt(html: string, href: string, label: string): string | null {
  const m = new RegExp(`<a [^>]*href="${href.replace(/[?]/g, "\\?")}" data-count="${label}"[^>]*><b>([^<]+)</b>`).exec(html);
  return m ? m[1] : null;
}

/** The element with this id, through its closing tag (the overview's panels are one section or div each). */
function panel(html: string, id: string): string {
  const start = html.indexOf(`id="${id}"`);
  expect(start, `no #${id}`).toBeGreaterThan(-1);
  const open = html.lastIndexOf("<", start);
  const tag = /^<([a-z]+)/.exec(html.slice(open))![1];
  return html.slice(open, html.indexOf(`</${tag}>\n`, open) + tag.length + 3);
}

/** The attention list's entries as the page shows them: kind and link. */
const entries = (html: string) => [...panel(html, "overview-attention").matchAll(/data-kind="([a-z]+)">[\s\S]*?<a href="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`);

const started = (id: string, name = `job ${id}`) => ({ type: "workflow.started", subject: id, data: { name, stages: ["a", "b"], worker: "w-1" } });
const failed = (id: string) => ({ type: "workflow.failed", subject: id, data: { reason: `${id} broke`, retryable: false } });

describe("the tenant overview", () => {
  let server: TestServer;
  let cookie: string;
  const streams: SseClient[] = [];
  const page = async (path = "/t/demo") => {
    const res = await fetch(server.url + path, { headers: { cookie } });
    expect(res.status).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    server = await startTestServer();
    cookie = await sessionCookie(server);
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("counts each domain on a tile whose links carry the list pages' filters", async () => {
    await publish(server, "demo", [
      { type: "call.started", subject: "c-1", data: { direction: "inbound", number: "+14155550123" } },
      { type: "call.started", subject: "c-2", data: { direction: "inbound", number: "+14155550124" } },
      { type: "call.ended", subject: "c-2", data: { duration_ms: 1000, status: "completed" } },
      started("wf-run"),
      started("wf-pause"),
      { type: "workflow.paused", subject: "wf-pause", data: {} },
      started("wf-fail"),
      failed("wf-fail"),
      { type: "agent.status", subject: "ada", data: { status: "available" } },
      { type: "agent.status", subject: "bob", data: { status: "error", error: "out of credits" } },
      { type: "agent.status", subject: "cy", data: { status: "disconnected" } },
      { type: "channel.connect_requested", subject: "ch-1", data: { platform: "slack", name: "Ops", kind: "slack" } },
      { type: "channel.connected", subject: "ch-1", data: {} },
      { type: "channel.connect_requested", subject: "ch-2", data: { platform: "sms", name: "Line", kind: "sms" } },
      { type: "channel.failed", subject: "ch-2", data: { reason: "number not verified" } },
      { type: "chat.message", subject: "s-1", data: { message_id: "m-1", text: "hello?", agent: "nobody", worker: "nobody" } },
    ]);
    const tiles = panel(await page(), "overview-tiles");
    expect(countAt(tiles, "/t/demo/calls?status=active", "active")).toBe("1");
    expect(countAt(tiles, "/t/demo/workflows?state=running", "running")).toBe("1");
    expect(countAt(tiles, "/t/demo/workflows?state=paused", "paused")).toBe("1");
    expect(countAt(tiles, "/t/demo/workflows?state=failed", "failed")).toBe("1");
    expect(countAt(tiles, "/t/demo/sessions", "open")).toBe("1");
    expect(countAt(tiles, "/t/demo/sessions?unread=1", "undelivered")).toBe("1");
    expect(countAt(tiles, "/t/demo/sessions?unread=1", "expired")).toBe("0");
    expect(countAt(tiles, "/t/demo/channels?state=connected", "connected")).toBe("1");
    expect(countAt(tiles, "/t/demo/channels?state=failed", "failed")).toBe("1");
    // Online: any status but disconnected (an agent in error is there, and needs attention).
    expect(countAt(tiles, "/t/demo/agents", "online")).toBe("2");
    expect(countAt(tiles, "/t/demo/agents?status=disconnected", "offline")).toBe("1");
    for (const [title, href] of [["Calls", "/calls"], ["Workflows", "/workflows"], ["Chat", "/sessions"], ["Channels", "/channels"], ["Agents", "/agents"]]) {
      expect(tiles).toContain(`<a href="/t/demo${href}">${title}</a>`);
    }
  });

  it("lists what needs attention newest first, each linking to its page, at most 8, and the rest a link away", async () => {
    const first = await page();
    const before = entries(first);
    // Everything fits: nothing to see elsewhere.
    expect(panel(first, "overview-attention")).not.toContain("see-all");
    // In log order: each newer than the last.
    for (let i = 0; i < 9; i++) await publish(server, "demo", [started(`wf-x${i}`), failed(`wf-x${i}`)]);
    await publish(server, "demo", { type: "agent.status", subject: "dee", data: { status: "disconnected", name: "Dee" } });
    const html = await page();
    const shown = entries(html);
    expect(shown).toHaveLength(ATTENTION_SIZE);
    expect(shown).toEqual(["offline /t/demo/agents/dee", ...[8, 7, 6, 5, 4, 3, 2].map((i) => `failed /t/demo/workflows/wf-x${i}`)]);
    expect(before).toEqual(
      expect.arrayContaining([
        "failed /t/demo/workflows/wf-fail",
        "paused /t/demo/workflows/wf-pause",
        "offline /t/demo/agents/cy",
        "error /t/demo/agents/bob",
        "failed /t/demo/channels?state=failed",
        "waiting /t/demo/sessions/s-1",
      ]),
    );
    // The kinds with more than the list shows: all of them one link away.
    const seeAll = panel(html, "overview-attention").slice(panel(html, "overview-attention").indexOf('class="see-all"'));
    expect(seeAll).toContain('<a href="/t/demo/workflows?state=failed">failed workflows (10)</a>');
    expect(seeAll).toContain('<a href="/t/demo/workflows?state=paused">paused workflows (1)</a>');
    expect(seeAll).toContain('<a href="/t/demo/agents?status=disconnected">offline agents (2)</a>');
    expect(seeAll).toContain('<a href="/t/demo/sessions?unread=1">undelivered chats (1)</a>');
  });

  it("updates tiles and attention live, and sends nothing to them for progress or the rest of an answer", async () => {
    const head = ((await (await fetch(`${server.url}/healthz`)).json()) as { head: number }).head;
    const live = await SseClient.open(`${server.url}/t/demo/live?after=${head}`, { cookie });
    streams.push(live);
    const overviewParts = (i: number) => partialsOf(live.messages[i].data).filter((p) => p.target.startsWith("overview-"));
    const next = async (events: object | object[]) => {
      const id = (await publish(server, "demo", events)).body.ids.at(-1) as number;
      await live.until((c) => c.ids().includes(id));
      return overviewParts(live.messages.length - 1);
    };

    // A progress report: the workflow's card moves, the overview does not.
    expect(await next({ type: "workflow.progress", subject: "wf-run", data: { progress: 0.5 } })).toEqual([]);
    // A failure: both change, morphed in place.
    const failure = await next(failed("wf-run"));
    expect(failure.map((p) => `${p.target} ${p.swap}`)).toEqual(["overview-tiles outerMorph", "overview-attention outerMorph"]);
    expect(countAt(failure[0].html, "/t/demo/workflows?state=failed", "failed")).toBe("11");
    expect(failure[1].html).toContain('href="/t/demo/workflows/wf-run"');
    // The first word of an answer takes the chat out of waiting; the next words change nothing the overview shows.
    const answered = await next({ type: "chat.delta", subject: "s-1", data: { message_id: "a-1", reply_to: "m-1", seq: 0, text: "Hi" } });
    expect(answered.map((p) => p.target)).toEqual(["overview-tiles", "overview-attention"]);
    expect(countAt(answered[0].html, "/t/demo/sessions?unread=1", "undelivered")).toBe("0");
    expect(answered[1].html).not.toContain("/t/demo/sessions/s-1");
    expect(await next({ type: "chat.delta", subject: "s-1", data: { message_id: "a-1", seq: 1, text: " there" } })).toEqual([]);
    // A channel's connection steps neither.
    await publish(server, "demo", { type: "channel.connect_requested", subject: "ch-3", data: { platform: "email", name: "Inbox", kind: "email" } });
    expect(await next({ type: "channel.progress", subject: "ch-3", data: { step: 1, total: 3, label: "Checking the mailbox" } })).toEqual([]);
  });

  it("counts no further than 999", async () => {
    // Two requests: a batch holds at most MAX_BATCH_EVENTS (1,000) events.
    for (const half of [0, 500]) {
      const { status } = await publish(server, "demo", Array.from({ length: 500 }, (_, i) => [started(`wf-bulk${half + i}`), failed(`wf-bulk${half + i}`)]).flat());
      expect(status).toBe(201);
    }
    expect(countAt(panel(await page(), "overview-tiles"), "/t/demo/workflows?state=failed", "failed")).toBe("999+");
  });

  // SQLite's plans, read on the server's file (a PostgreSQL node runs the same statements on its own SQLite copy, out of reach).
  it.skipIf(testBackend() === "postgres")("reads every projection through an index, on the data the test above left", async () => {
    // The statements the overview runs, with their plans: every projection table is searched, never scanned.
    const db = openDb(server.dbPath, { migrate: false });
    const statements: string[] = [];
    const prepare = db.$client.prepare.bind(db.$client);
    db.$client.prepare = ((source: string) => (statements.push(source), prepare(source))) as typeof db.$client.prepare;
    try {
      for (const source of [callsOverview, workflowsOverview, chatOverview, channelsOverview, agentsOverview]) {
        source.tile(db, "demo");
        source.attention?.(db, "demo", ATTENTION_SIZE);
      }
      db.$client.prepare = prepare;
      expect(statements.length).toBeGreaterThan(10);
      for (const sql of statements) {
        const params = Array.from(sql.match(/\?/g) ?? [], () => "demo");
        const plan = (prepare(`explain query plan ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
        for (const step of plan) expect(step, `${sql}\n${plan.join("\n")}`).not.toMatch(/^SCAN (calls|workflows|chat_messages|chat_sessions|agents|channels)\b/);
        if (/from "workflows"|from "chat_messages"/.test(sql)) expect(plan.join("\n"), sql).toMatch(/_tenant_(state|status)_updated_idx/);
      }
    } finally {
      db.$client.prepare = prepare;
      db.$client.close();
    }
  });
});

describe("the tenant's navigation", () => {
  it("marks the section a page belongs to, sub-pages included, and the overview on itself only", () => {
    const current = (path: string) => tenantNav("demo", path).filter((l) => l.current).map((l) => l.label);
    expect(tenantNav("demo", "/t/demo").map((l) => `${l.label} ${l.href}`)).toEqual([
      "Overview /t/demo",
      "Calls /t/demo/calls",
      "Workflows /t/demo/workflows",
      "Chat /t/demo/sessions",
      "Channels /t/demo/channels",
      "Agents /t/demo/agents",
      "Mercure /t/demo/mercure",
      "Activity /t/demo/feed",
      "Stats /t/demo/stats",
    ]);
    expect(current("/t/demo")).toEqual(["Overview"]);
    expect(current("/t/demo/calls/abc")).toEqual(["Calls"]);
    expect(current("/t/demo/workflows/wf-1")).toEqual(["Workflows"]);
    expect(current("/t/demo/sessions/new")).toEqual(["Chat"]);
    expect(current("/t/demo/agents/ada")).toEqual(["Agents"]);
    expect(current("/t/demo/feed")).toEqual(["Activity"]);
    expect(current("/t/demo/mercure")).toEqual(["Mercure"]);
    expect(current("/t/demo/stats")).toEqual(["Stats"]);
    // A path that only starts like a section is not in it.
    expect(current("/t/demo/callsign")).toEqual([]);
  });
});
