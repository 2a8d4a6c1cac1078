import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HISTORY_PAGE } from "../src/domain/workflows/history.js";
import { elementById, partialsOf, sessionCookie } from "./support/console.js";
import { api, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { send, started } from "./support/workflows.js";

/** More events than a PostgreSQL node's replica keeps (REPLICA_EVENTS, 10,000), in NDJSON batches as producers send them. */
const LATER_EVENTS = 12_000;
const BATCH = 1_000;

/** The event ids of a workflow page's history, in page order, and its "Older" link's cursor. */
function timelineOf(html: string): { ids: number[]; older: number | null } {
  const timeline = elementById(html, "wf-timeline") ?? "";
  const ids = [...timeline.matchAll(/id="wfe-(\d+)"/g)].map((m) => Number(m[1]));
  const older = /href="\/t\/demo\/workflows\/wf-old\?before=(\d+)" rel="next"/.exec(timeline);
  return { ids, older: older ? Number(older[1]) : null };
}

async function publishOthers(server: TestServer, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += BATCH) {
    const n = Math.min(BATCH, count - sent);
    const body = Array.from({ length: n }, (_, i) => JSON.stringify({ type: "meter.tick", subject: `m-${i % 50}`, data: { i: sent + i } })).join("\n");
    const res = await api(server, "/api/v1/tenants/demo/events", { method: "POST", headers: { "content-type": "application/x-ndjson" }, body });
    expect(res.status, await res.clone().text()).toBe(201);
    await res.body?.cancel();
  }
}

/**
 * A workflow's page shows its whole history, however old: on a PostgreSQL
 * node the history is read from the log, not from the node's replica, which
 * keeps only the latest events of the whole log and none from before the
 * node started. Pages are the same on both backends: newest first, a page
 * of HISTORY_PAGE events, `?before=` for the older ones.
 */
describe("a workflow's history on its console page", () => {
  let dir: string;
  let server: TestServer;
  let cookie: string;
  /** The workflow's events, newest first. */
  let expected: number[];
  const page = async (path: string) => {
    const res = await fetch(server.url + path, { headers: { cookie }, redirect: "manual" });
    expect(res.status).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-wf-history-"));
    server = await startTestServer({}, dir);
    cookie = await sessionCookie(server);
    const first = await started(server, "wf-old", "w-1");
    const progress = Array.from({ length: HISTORY_PAGE + 10 }, (_, i) => ({ type: "workflow.progress", subject: "wf-old", data: { progress: i / 100 } }));
    const res = await publish(server, "demo", progress);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expected = [first, ...(res.body.ids as number[])].reverse();
  });

  afterAll(async () => {
    await server?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The workflow's page and its older page hold every one of its events, newest first. */
  async function expectWholeHistory(): Promise<void> {
    const newest = timelineOf(await page("/t/demo/workflows/wf-old"));
    expect(newest.ids).toEqual(expected.slice(0, HISTORY_PAGE));
    expect(newest.older).toBe(expected[HISTORY_PAGE - 1]);
    const older = timelineOf(await page(`/t/demo/workflows/wf-old?before=${newest.older}`));
    expect(older.ids).toEqual(expected.slice(HISTORY_PAGE));
    expect(older.older).toBeNull();
  }

  it("lists the workflow's events", async () => {
    await expectWholeHistory();
  });

  it(`still lists them after ${LATER_EVENTS} later events of the log`, async () => {
    await publishOthers(server, LATER_EVENTS);
    await expectWholeHistory();
  });

  it("still lists them after the node restarts", async () => {
    await server.dispose();
    server = await startTestServer({}, dir);
    cookie = await sessionCookie(server);
    await expectWholeHistory();
  });

  it("a page stream far behind starts with the whole history, then adds the workflow's new events", async () => {
    // From position 0, thousands of events behind: the stream re-renders the page at its head first.
    const stream = await SseClient.open(`${server.url}/t/demo/workflows/wf-old/live?after=0`, { cookie });
    try {
      expect(stream.status).toBe(200);
      const parts = () => stream.messages.flatMap((m) => partialsOf(m.data));
      await stream.until(() => parts().some((p) => p.target === "wf-timeline"));
      expect(timelineOf(parts().find((p) => p.target === "wf-timeline")!.html).ids).toEqual(expected.slice(0, HISTORY_PAGE));
      const res = await send(server, "progress", "wf-old", { progress: 0.99 });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const id = res.body.ids[0] as number;
      await stream.until(() => parts().some((p) => p.target === "wf-timeline-items" && p.html.includes(`id="wfe-${id}"`)));
      expected.unshift(id);
    } finally {
      stream.close();
    }
    await expectWholeHistory();
  });
});
