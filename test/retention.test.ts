import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openDb } from "../src/store/db.js";
import { Retention, SqlitePruner, type Pruner } from "../src/store/retention.js";
import { sessionCookie } from "./support/console.js";
import { prunerOn } from "./support/database.js";
import { historyPage, walkHistory } from "./support/history-pages.js";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";
import { RawStream } from "./support/raw-stream.js";
import { SseClient } from "./support/sse-client.js";
import { createTenant } from "./support/tenants.js";

/** Retention off in the server itself, so a test can run passes by hand. */
const NO_RETENTION = { RETENTION_MAX_AGE: "0", RETENTION_MAX_EVENTS: "0" };

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function publishOne(server: TestServer, tenant: string, n: number): Promise<number> {
  const { status, body } = await publish(server, tenant, { type: "ret.tick", data: { n } });
  expect(status).toBe(201);
  return body.ids[0];
}

function stream(server: TestServer, tenant: string, lastEventId: number): Promise<SseClient> {
  return SseClient.open(`${server.url}/api/v1/tenants/${tenant}/stream`, { authorization: `Bearer ${ADMIN_KEY}`, "last-event-id": String(lastEventId) });
}

/**
 * Until a stream of `tenant` from the start is reset: the server knows of a
 * pass run beside it. On SQLite it reads the marks the pass wrote at once; a
 * PostgreSQL node reloads them when the pass announces them.
 */
async function untilPruneKnown(server: TestServer, tenant: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const probe = await stream(server, tenant, 0);
      try {
        await probe.until((c) => c.messages.length >= 1);
        expect(probe.messages[0].event).toBe("reset");
      } finally {
        probe.close();
      }
    },
    { timeout: 30_000, interval: 50 },
  );
}

interface Reset {
  reason: string;
  oldest: number | null;
  head: number;
  resume: number;
}

describe("retention", () => {
  let server: TestServer | undefined;
  let side: { close(): Promise<void> } | undefined;
  const clients: SseClient[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await side?.close();
    side = undefined;
    await server?.dispose();
    server = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** Retention's pruner on a second connection to the server's database: to run retention by hand. */
  function sidePruner(s: TestServer): Pruner {
    const { pruner, close } = prunerOn(s);
    side = { close };
    return pruner;
  }

  it("prunes by count per tenant, keeps ids growing, and resets streams behind the retained log", async () => {
    server = await startTestServer({ RETENTION_MAX_EVENTS: "5", RETENTION_MAX_AGE: "0", RETENTION_INTERVAL_MS: "100" });
    await createTenant(server, "other");

    const demo: number[] = [];
    const other: number[] = [];
    for (let n = 0; n < 12; n++) {
      demo.push(await publishOne(server, "demo", n));
      if (n % 4 === 0) other.push(await publishOne(server, "other", n));
    }
    expect(other).toHaveLength(3);
    const head = Math.max(...demo, ...other);

    // The server's own retention (every 100 ms) trims demo to its newest 5.
    await eventually(async () => (await walkHistory(server!, "demo")).length === 5, "demo to be pruned to 5 events");
    const kept = demo.slice(-5);
    const pruned = demo[demo.length - 6];
    expect((await walkHistory(server, "demo")).map((e) => e.id)).toEqual(kept);
    expect((await historyPage(server, "demo")).head).toBe(head);
    // History from a pruned position starts at the oldest retained event.
    expect((await historyPage(server, "demo", { after: demo[0] })).events.map((e) => e.id)).toEqual(kept);
    // The other tenant holds fewer than 5 and is untouched.
    expect((await walkHistory(server, "other")).map((e) => e.id)).toEqual(other);
    // The stats page counts what is retained, not what was appended (on PostgreSQL too, where a node's own
    // copy of the type summary never sees retention's deletes).
    const stats = await fetch(`${server.url}/t/demo/stats`, { headers: { cookie: await sessionCookie(server), "hx-request": "true" } });
    const html = await stats.text();
    expect(html).toContain('data-stat="retained">5<');
    expect(html).toMatch(/data-topic="ret">[\s\S]*?data-count>5</);
    expect(html).toContain(`ids ${kept[0]} – ${kept[4]}`);

    // A stream resuming from a pruned position is told, in band, then gets every retained event.
    const stale = await stream(server, "demo", demo[1]);
    clients.push(stale);
    await stale.until((c) => c.messages.length >= 6);
    const [reset, ...rest] = stale.messages;
    expect(reset.event).toBe("reset");
    expect(JSON.parse(reset.data) as Reset).toEqual({ reason: "stale", oldest: kept[0], head, resume: pruned });
    expect(reset.id).toBe(String(pruned));
    expect(rest.map((m) => Number(m.id))).toEqual(kept);

    // The other tenant's streams are not reset by demo's pruning.
    const otherStream = await stream(server, "other", 0);
    clients.push(otherStream);
    await otherStream.until((c) => c.messages.length >= 3);
    expect(otherStream.messages.map((m) => m.event)).toEqual(["ret.tick", "ret.tick", "ret.tick"]);
    expect(otherStream.ids()).toEqual(other);

    // Ids are never reused: the next event follows the old head, and arrives live.
    const next = await publishOne(server, "demo", 99);
    expect(next).toBe(head + 1);
    await stale.until((c) => c.ids().includes(next));
    expect(stale.ids()).toEqual([...kept, next]);
  });

  it("prunes by age (fake clock), per tenant, with resets only where events were missed", async () => {
    server = await startTestServer(NO_RETENTION);
    await createTenant(server, "other");

    const old: number[] = [];
    for (let n = 0; n < 4; n++) old.push(await publishOne(server, "demo", n));
    // Wait for the millisecond clock to move on, so the newer events are strictly younger.
    const lastOldTs = Date.parse((await walkHistory(server, "demo")).at(-1)!.ts);
    await eventually(async () => Date.now() > lastOldTs, "the clock to tick");
    const otherIds = [await publishOne(server, "other", 0), await publishOne(server, "other", 1)];
    const young = [await publishOne(server, "demo", 4), await publishOne(server, "demo", 5)];
    const firstYoungTs = Date.parse((await walkHistory(server, "other"))[0].ts);
    expect(firstYoungTs).toBeGreaterThan(lastOldTs);

    // "Now" is one hour after the first young event: everything older than an hour goes.
    const hour = 3_600_000;
    const retention = new Retention(sidePruner(server), { maxAgeMs: hour, maxEvents: 0, intervalMs: 1000, clock: () => firstYoungTs + hour });
    expect(await retention.runOnce()).toBe(old.length);
    expect(await retention.runOnce()).toBe(0);
    await retention.stop();
    await untilPruneKnown(server, "demo");

    expect((await walkHistory(server, "demo")).map((e) => e.id)).toEqual(young);
    expect((await walkHistory(server, "other")).map((e) => e.id)).toEqual(otherIds);

    // Behind the retained log: a reset, then everything retained.
    const stale = await stream(server, "demo", 0);
    clients.push(stale);
    await stale.until((c) => c.messages.length >= 3);
    expect(stale.messages[0].event).toBe("reset");
    expect(JSON.parse(stale.messages[0].data)).toEqual({ reason: "stale", oldest: young[0], head: young[1], resume: old.at(-1) });
    expect(stale.messages[0].id).toBe(String(old.at(-1)));
    expect(stale.ids()).toEqual(young);

    // Exactly at the last pruned event, the client has missed nothing: no reset.
    const exact = await stream(server, "demo", old.at(-1)!);
    clients.push(exact);
    await exact.until((c) => c.messages.length >= 2);
    expect(exact.messages.map((m) => m.event)).toEqual(["ret.tick", "ret.tick"]);
    expect(exact.ids()).toEqual(young);

    // Demo's pruning says nothing about the other tenant, whose log is whole.
    const otherStream = await stream(server, "other", 0);
    clients.push(otherStream);
    await otherStream.until((c) => c.messages.length >= 2);
    expect(otherStream.messages.map((m) => m.event)).toEqual(["ret.tick", "ret.tick"]);
    expect(otherStream.ids()).toEqual(otherIds);
  });

  it("prunes by age on the server's own schedule (RETENTION_MAX_AGE=1s), even the whole log, and ids survive a restart", async () => {
    server = await startTestServer({ RETENTION_MAX_AGE: "1s", RETENTION_MAX_EVENTS: "0", RETENTION_INTERVAL_MS: "100" });
    const ids = [await publishOne(server, "demo", 0), await publishOne(server, "demo", 1), await publishOne(server, "demo", 2)];
    await eventually(async () => (await walkHistory(server!, "demo")).length === 0, "every event to age out");
    // On a cluster node the prune is known from PostgreSQL a moment later (the access reload); until then
    // a stream from its memory of recent events could still be served the pruned events.
    await untilPruneKnown(server, "demo");

    // Nothing is retained: a reset with no oldest, resuming at the head.
    const stale = await stream(server, "demo", ids[0]);
    clients.push(stale);
    await stale.until((c) => c.messages.length >= 1);
    expect(stale.messages[0].event).toBe("reset");
    expect(JSON.parse(stale.messages[0].data)).toEqual({ reason: "stale", oldest: null, head: ids[2], resume: ids[2] });
    stale.close();

    // A new process on the emptied file still continues above every id ever given.
    const dir = server.dir;
    dirs.push(dir);
    await server.close();
    server = await startTestServer({ ...NO_RETENTION }, dir);
    const next = await publishOne(server, "demo", 3);
    expect(next).toBe(ids[2] + 1);
    expect((await walkHistory(server, "demo")).map((e) => e.id)).toEqual([next]);
  });

  it("resets an all-tenant (admin) stream behind the retained log without skipping other tenants' retained events", async () => {
    server = await startTestServer(NO_RETENTION);
    await createTenant(server, "other");
    const other = [await publishOne(server, "other", 0), await publishOne(server, "other", 1)];
    const demo: number[] = [];
    for (let n = 0; n < 6; n++) demo.push(await publishOne(server, "demo", n));
    const retention = new Retention(sidePruner(server), { maxAgeMs: 0, maxEvents: 2, intervalMs: 1000 });
    expect(await retention.runOnce()).toBe(4);
    await retention.stop();
    await untilPruneKnown(server, "demo");

    // Demo lost its first four events; other's two (older ids) are still retained.
    const admin = await SseClient.open(`${server.url}/api/v1/stream`, { authorization: `Bearer ${ADMIN_KEY}`, "last-event-id": "0" });
    clients.push(admin);
    await admin.until((c) => c.messages.length >= 5);
    expect(admin.messages[0].event).toBe("reset");
    const reset = JSON.parse(admin.messages[0].data) as Reset;
    expect(reset).toMatchObject({ reason: "stale", oldest: other[0], head: demo[5] });
    expect(admin.messages[0].id).toBe(String(reset.resume));
    expect(admin.ids()).toEqual([...other, ...demo.slice(-2)]);
  });

  it("logs a failed background pass instead of letting it end the process", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-retention-"));
    dirs.push(dir);
    const db = openDb(join(dir, "gone.db"));
    db.$client.close(); // every query now throws
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (msg: string, fields?: Record<string, unknown>) => errors.push(`${msg}: ${String(fields?.error)}`) };
    const retention = new Retention(new SqlitePruner(db.$client), { maxAgeMs: 1000, maxEvents: 0, intervalMs: 100 }, logger);
    retention.start();
    await eventually(async () => errors.length >= 2, "two failed passes to be logged");
    await retention.stop();
    expect(errors[0]).toMatch(/^retention pass failed: .*not open/);
  });

  it("answers a position beyond the head with an `ahead` reset and continues live from the head", async () => {
    server = await startTestServer(NO_RETENTION);
    const ids = [await publishOne(server, "demo", 0), await publishOne(server, "demo", 1)];

    const ahead = await stream(server, "demo", 1000);
    clients.push(ahead);
    await ahead.until((c) => c.messages.length >= 1);
    expect(ahead.messages[0].event).toBe("reset");
    expect(JSON.parse(ahead.messages[0].data)).toEqual({ reason: "ahead", oldest: ids[0], head: ids[1], resume: ids[1] });
    expect(ahead.messages[0].id).toBe(String(ids[1]));

    // Nothing already in the log is replayed; what comes next arrives.
    const next = await publishOne(server, "demo", 2);
    await ahead.until((c) => c.messages.length >= 2);
    expect(ahead.messages).toHaveLength(2);
    expect(ahead.ids()).toEqual([next]);
    expect(JSON.parse(ahead.messages[1].data)).toMatchObject({ id: next, data: { n: 2 } });
  });

  it.each([
    // Nothing kept in memory: every page is read from the log.
    ["read from the log", { SSE_RECENT_BYTES: "0" }],
    // Everything kept in memory for as long as the test lasts: every page comes from there.
    ["served from memory", { SSE_RECENT_MAX_AGE_MS: "600000" }],
  ])("resets a stream whose replay (%s) is overtaken by a pass, rather than skipping what was pruned", async (_, replayFrom) => {
    // Small pages, so that a replay is under way when the pass runs.
    server = await startTestServer({ ...NO_RETENTION, ...replayFrom, SSE_MAX_BUFFER_BYTES: String(16 * 1024) });
    const pad = "x".repeat(1000);
    let last = 0;
    for (let b = 0; b < 20; b++) {
      const batch = Array.from({ length: 1000 }, (_, i) => ({ type: "ret.bulk", data: { n: b * 1000 + i, pad } }));
      const { status, body } = await publish(server, "demo", batch);
      expect(status).toBe(201);
      last = body.ids[body.ids.length - 1];
    }
    // 20 MB to replay, to a client that reads nothing yet: the replay waits once the socket's buffers are full.
    const raw = RawStream.stalled(server.url, "/api/v1/tenants/demo/stream", { Authorization: `Bearer ${ADMIN_KEY}`, "Last-Event-ID": "0" });
    const replayPages = async () => {
      const text = await (await fetch(`${server!.url}/metrics`)).text();
      const pages = (source: string) => Number(new RegExp(`^switchboard_stream_replay_pages_total\\{source="${source}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
      return pages("log") + pages("memory");
    };
    // The replay has begun: its first pages went to the socket, and it waits for the client to read them.
    await expect.poll(replayPages, { timeout: 20_000 }).toBeGreaterThan(2);
    const retention = new Retention(sidePruner(server), { maxAgeMs: 0, maxEvents: 1000, intervalMs: 1000 });
    expect(await retention.runOnce()).toBe(19_000);
    await retention.stop();
    const pruned = last - 1000;
    // A PostgreSQL node learns of the pass when it is announced; pages from memory go by what the node knows.
    await untilPruneKnown(server, "demo");

    raw.resume();
    await expect.poll(() => raw.raw.includes(`id: ${last}\n`), { timeout: 30_000, interval: 200 }).toBe(true);
    raw.destroy();
    const frames = raw.body().text.split("\n\n").filter((f) => /^id: /m.test(f));
    const idOf = (f: string) => Number(/^id: (\d+)$/m.exec(f)![1]);
    const isReset = (f: string) => /^event: reset$/m.test(f);
    // A pass deletes in small transactions: a page read during it may see it part done, and say so too.
    const resets = frames.filter(isReset).map((f) => ({ id: idOf(f), ...(JSON.parse(/^data: (.*)$/m.exec(f)![1]) as Reset) }));
    expect(resets.length).toBeGreaterThan(0);
    for (const r of resets) expect(r).toMatchObject({ reason: "stale", resume: r.id });
    expect(resets[resets.length - 1]).toMatchObject({ resume: pruned, oldest: pruned + 1, head: last });
    // Every frame moves the client's position forward; before the first reset, everything in order.
    const positions = frames.map(idOf);
    expect(positions.every((id, i) => i === 0 || id > positions[i - 1])).toBe(true);
    const first = frames.findIndex(isReset);
    expect(first).toBeGreaterThan(0);
    expect(positions.slice(0, first)).toEqual(Array.from({ length: first }, (_, i) => i + 1));
    // After the last reset, exactly the retained events.
    const after = frames.slice(frames.length - [...frames].reverse().findIndex(isReset));
    expect(after.map(idOf)).toEqual(Array.from({ length: 1000 }, (_, i) => pruned + 1 + i));
  });
});
