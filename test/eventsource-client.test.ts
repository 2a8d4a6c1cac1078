import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventSource, type FetchLikeResponse } from "eventsource";
import { afterAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, publish, startTestServer, type TestServer } from "./support/server.js";

/**
 * A real EventSource client (the `eventsource` package, which follows the
 * WHATWG spec) reconnects by itself when the server goes away, sends
 * Last-Event-ID, and with the log behind the stream misses nothing and
 * sees nothing twice, across server restarts on the same database.
 */

const TYPES = ["order.started", "ticket.status", "order.ended"] as const;

interface Received {
  type: string;
  lastEventId: string;
  data: { id: number; tenant: string; type: string; subject: string | null; data: { n: number } };
}

/** A gate the client's fetch waits on, so a reconnect can be held back until the test is ready. */
class Gate {
  #open = true;
  #waiters: (() => void)[] = [];
  close() {
    this.#open = false;
  }
  open() {
    this.#open = true;
    for (const w of this.#waiters.splice(0)) w();
  }
  pass(): Promise<void> {
    return this.#open ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }
}

function until(predicate: () => boolean, what: () => string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`timed out waiting for ${what()}`));
    }, timeoutMs);
    const poll = setInterval(() => {
      if (!predicate()) return;
      clearTimeout(timer);
      clearInterval(poll);
      resolve();
    }, 5);
  });
}

describe("EventSource client across server restarts", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-es-"));
  const env = { SSE_RETRY_MS: "100" };
  let server: TestServer | undefined;
  let es: EventSource | undefined;

  afterAll(async () => {
    es?.close();
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reconnects with Last-Event-ID by itself and receives every event exactly once, in order", async () => {
    server = await startTestServer(env, dir);
    const port = server.port;
    const streamUrl = `${server.url}/api/v1/tenants/demo/stream`;

    const gate = new Gate();
    /** The Last-Event-ID header of every connection attempt, in order (null when absent). */
    const attempts: (string | null)[] = [];
    const received: Received[] = [];
    const resets: MessageEvent[] = [];
    let opens = 0;

    es = new EventSource(streamUrl, {
      fetch: async (input, init): Promise<FetchLikeResponse> => {
        attempts.push(init.headers["Last-Event-ID"] ?? null);
        await gate.pass();
        return fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${ADMIN_KEY}` } });
      },
    });
    es.addEventListener("open", () => opens++);
    for (const type of TYPES) {
      es.addEventListener(type, (ev) => received.push({ type: ev.type, lastEventId: ev.lastEventId, data: JSON.parse(ev.data) }));
    }
    es.addEventListener("reset", (ev) => resets.push(ev));
    // Named events only: nothing may arrive as a plain "message".
    let plainMessages = 0;
    es.onmessage = () => plainMessages++;

    let n = 0;
    // Publishes the way a producer should across restarts: each event has an idempotency key, and a
    // request that fails on the network (a pooled keep-alive socket the old server closed) is retried.
    // Duplicates would show in the ids checked at the end.
    const publishSafely = async (body: unknown) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await publish(server!, "demo", body);
        } catch (err) {
          if (attempt === 5) throw err;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    };
    const publishSome = async (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        const event = { type: TYPES[n % TYPES.length], subject: `s-${n % 4}`, data: { n }, key: `event-${n}` };
        const res = await publishSafely(i % 3 === 2 ? [event] : event);
        expect(res.status).toBe(201);
      }
    };
    const lastId = () => received.at(-1)?.data.id ?? 0;

    await until(() => opens === 1, () => "the first connection");
    expect(attempts).toEqual([null]);

    // Phase 1: live on the first server.
    await publishSome(10);
    await until(() => received.length === 10, () => `10 events, got ${received.length}`);

    // Drop 1: the server shuts down (ending the stream) while the client's reconnects are held back.
    gate.close();
    await server.close();
    await until(() => attempts.length === 2, () => "a reconnect attempt after the server closed");
    expect(es.readyState).toBe(EventSource.CONNECTING);
    expect(attempts[1]).toBe("10");

    // A new server on the same port and database; events published before the client is back must be replayed.
    server = await startTestServer({ ...env, PORT: String(port) }, dir);
    expect(server.port).toBe(port);
    await publishSome(10);
    gate.open();
    await until(() => received.length === 20, () => `20 events after the restart, got ${received.length}`);
    expect(opens).toBe(2);
    // Then live again on the same connection.
    await publishSome(10);
    await until(() => received.length === 30, () => `30 events, got ${received.length}`);

    // Drop 2: no gate this time; the client retries on its own (refused while the port is closed) until the next server is up.
    const attemptsBefore = attempts.length;
    await server.close();
    server = await startTestServer({ ...env, PORT: String(port) }, dir);
    await publishSome(10);
    await until(() => received.length === 40, () => `40 events after the second restart, got ${received.length}`);
    await publishSome(5);
    await until(() => received.length === 45, () => `45 events, got ${received.length}`);
    expect(opens).toBe(3);
    // Every attempt after the second drop resumed from the last event received before it.
    expect(attempts.length).toBeGreaterThan(attemptsBefore);
    expect(new Set(attempts.slice(attemptsBefore))).toEqual(new Set(["30"]));

    // Exactly once, in order, with the ids the log gave.
    expect(received.map((r) => r.data.id)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    expect(received.map((r) => r.data.data.n)).toEqual(Array.from({ length: 45 }, (_, i) => i));
    for (const r of received) {
      // The MessageEvent's lastEventId is the SSE id: the event's id in the log.
      expect(r.lastEventId).toBe(String(r.data.id));
      expect(r.type).toBe(r.data.type);
      expect(r.data.tenant).toBe("demo");
      expect(r.data.type).toBe(TYPES[r.data.data.n % TYPES.length]);
      expect(r.data.subject).toBe(`s-${r.data.data.n % 4}`);
    }
    expect(lastId()).toBe(45);
    expect(resets).toEqual([]);
    expect(plainMessages).toBe(0);
  });
});
