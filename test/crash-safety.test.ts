import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ChildServer } from "./support/child-server.js";
import { logHead, walkHistory, type EventJson } from "./support/history-pages.js";
import { ADMIN_KEY, api, databaseIn, publish } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";

/** One publish request and what became of it. */
interface Attempt {
  batch: string;
  size: number;
  /** The ids of a 201 ack; null when the request failed or got no answer. */
  ids: number[] | null;
}

function childEnv(database: string): Record<string, string> {
  return { PORT: "0", HOST: "127.0.0.1", DATABASE_URL: database, SWITCHBOARD_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: "info" };
}

describe("crash safety: SIGKILL in the middle of a publishing load", () => {
  let dir: string;
  const children: ChildServer[] = [];
  afterEach(async () => {
    await Promise.all(children.map((c) => c.dispose()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps every acked event, never tears a batch, and never reuses an id", async () => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-crash-"));
    // Its SQLite file, or a PostgreSQL database of its own: the second process starts on the same.
    const database = await databaseIn(dir);
    const first = await ChildServer.start(childEnv(database));
    children.push(first);

    // Several publishers, each sending single events, JSON batches and NDJSON
    // batches back to back, until the server dies under them.
    const attempts: Attempt[] = [];
    let acked = 0;
    let killed = false;
    const killAfter = 1500;
    const publisher = async (p: number) => {
      for (let r = 0; ; r++) {
        const batch = `p${p}-r${r}`;
        const kind = r % 3; // 0: single event, 1: JSON array, 2: NDJSON
        const size = kind === 0 ? 1 : 2 + ((p * 7 + r * 13) % 39);
        const events = Array.from({ length: size }, (_, i) => ({ type: "crash.tick", subject: batch, data: { batch, i, n: size, pad: "x".repeat(200) } }));
        const attempt: Attempt = { batch, size, ids: null };
        attempts.push(attempt);
        try {
          const res = await api(first, "/api/v1/tenants/demo/events", {
            method: "POST",
            headers: { "content-type": kind === 2 ? "application/x-ndjson" : "application/json" },
            body: kind === 0 ? JSON.stringify(events[0]) : kind === 1 ? JSON.stringify(events) : events.map((e) => JSON.stringify(e)).join("\n"),
          });
          const body = (await res.json()) as { ids?: number[] };
          if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${JSON.stringify(body)}`);
          expect(body.ids).toHaveLength(size);
          attempt.ids = body.ids!;
          acked += size;
        } catch (err) {
          if (!killed) throw err; // before the kill, every publish must succeed
          return; // the server is gone: this request got no ack
        }
        if (acked >= killAfter && !killed) {
          killed = true;
          first.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, (_, p) => publisher(p)));
    const exit = await first.exited;
    expect(exit.signal).toBe("SIGKILL");

    const ackedAttempts = attempts.filter((a) => a.ids !== null);
    const ackedIds = ackedAttempts.flatMap((a) => a.ids!);
    expect(ackedIds.length).toBeGreaterThanOrEqual(killAfter);
    const maxAcked = Math.max(...ackedIds);

    // A new process on the same file.
    const second = await ChildServer.start(childEnv(database));
    children.push(second);
    const events = await walkHistory(second, "demo");
    const head = await logHead(second);
    const ids = events.map((e) => e.id);

    // Ids ascend strictly: nothing duplicated.
    for (let k = 1; k < ids.length; k++) expect(ids[k]).toBeGreaterThan(ids[k - 1]);
    expect(head).toBe(ids[ids.length - 1]);

    // Every acked event is there, with the content it was acked for.
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const a of ackedAttempts) {
      a.ids!.forEach((id, i) => {
        const e = byId.get(id);
        expect(e, `acked event ${id} (${a.batch}[${i}]) is missing after the crash`).toBeDefined();
        expect(e!.data).toMatchObject({ batch: a.batch, i, n: a.size });
      });
    }

    // Every request's events are all there or none is (no torn batch), in order;
    // and nothing is there that no publisher sent.
    const byBatch = new Map<string, EventJson[]>();
    for (const e of events) {
      const batch = e.data.batch as string;
      const list = byBatch.get(batch) ?? [];
      list.push(e);
      byBatch.set(batch, list);
    }
    const sent = new Map(attempts.map((a) => [a.batch, a]));
    for (const [batch, list] of byBatch) {
      const attempt = sent.get(batch);
      expect(attempt, `event of unknown batch ${batch}`).toBeDefined();
      expect(list.map((e) => e.data.i), `batch ${batch} is torn`).toEqual(Array.from({ length: attempt!.size }, (_, i) => i));
    }
    const unacked = attempts.filter((a) => a.ids === null);
    const unackedPresent = unacked.filter((a) => byBatch.has(a.batch)).length;
    console.info(
      `crash: ${ackedAttempts.length} acked requests (${ackedIds.length} events), ${unacked.length} unanswered (${unackedPresent} committed before the kill), head ${head}`,
    );

    // A stream from Last-Event-ID 0 replays exactly the log.
    const stream = await SseClient.open(`${second.url}/api/v1/tenants/demo/stream`, {
      authorization: `Bearer ${ADMIN_KEY}`,
      "last-event-id": "0",
    });
    expect(stream.status).toBe(200);
    await stream.until((c) => c.messages.length >= ids.length, 15_000);
    expect(stream.ids()).toEqual(ids);

    // New appends continue above everything ever acked or stored.
    const next = await publish(second, "demo", [
      { type: "crash.after", data: { n: 1 } },
      { type: "crash.after", data: { n: 2 } },
    ]);
    expect(next.status).toBe(201);
    expect(next.body.ids[0]).toBeGreaterThan(Math.max(maxAcked, head));
    expect(next.body.ids[1]).toBeGreaterThan(next.body.ids[0]);
    await stream.until((c) => c.messages.length >= ids.length + 2);
    expect(stream.ids().slice(ids.length)).toEqual(next.body.ids);
    stream.close();
  });
});
