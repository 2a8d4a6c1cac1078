import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { walkHistory } from "./support/history-pages.js";
import { ADMIN_KEY, api, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { seeded } from "./support/random.js";

/**
 * No gap, no duplicate: 5,000 events published concurrently (single
 * events, JSON arrays, NDJSON bodies, some streamed in odd-sized chunks)
 * while filtered and unfiltered subscribers connect and drop at random
 * points and resume with Last-Event-ID. Every subscriber ends with exactly
 * the ids its filter selects, in order, each once, and the history API
 * agrees with all of them.
 */

const TOTAL = 5000;
const PUBLISHERS = 8;
const SUBJECTS = ["s-0", "s-1", "s-2", "s-3"];
const SEED = Number(process.env.NO_GAP_SEED ?? Date.now() % 1_000_000);


interface Planned {
  type: "load.a" | "load.b";
  subject: string | null;
  data: { p: number; seq: number; note: string };
}

interface Filter {
  name: string;
  /** Query of the stream URL (the filter, plus the first position for some). */
  query: string;
  matches: (e: Planned) => boolean;
  /** History query for the same filter. */
  history: { types?: string; subject?: string };
  /** How the first connection states its position. */
  start: "before-publishing" | "header-0" | "query";
}

const FILTERS: Filter[] = [
  { name: "all, live from the start", query: "", matches: () => true, history: {}, start: "before-publishing" },
  { name: "all, joins late from 0", query: "", matches: () => true, history: {}, start: "header-0" },
  { name: "load.a, after=0", query: "types=load.a&after=0", matches: (e) => e.type === "load.a", history: { types: "load.a" }, start: "query" },
  {
    name: "load.a, lastEventID=0, joins late",
    query: "types=load.a&lastEventID=0",
    matches: (e) => e.type === "load.a",
    history: { types: "load.a" },
    start: "query",
  },
  { name: "load.b, live from the start", query: "types=load.b", matches: (e) => e.type === "load.b", history: { types: "load.b" }, start: "before-publishing" },
  { name: "glob load.*", query: "types=load.*", matches: () => true, history: { types: "load.*" }, start: "header-0" },
  { name: "subject s-1", query: "subject=s-1", matches: (e) => e.subject === "s-1", history: { subject: "s-1" }, start: "before-publishing" },
  {
    name: "load.b and subject s-2",
    query: "types=load.b&subject=s-2",
    matches: (e) => e.type === "load.b" && e.subject === "s-2",
    history: { types: "load.b", subject: "s-2" },
    start: "header-0",
  },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("no gap, no duplicate", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.dispose());

  it(`delivers each subscriber exactly its filter's ids among 1..${TOTAL}, across random drops`, async () => {
    const random = seeded(SEED);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const stream = (f: Filter) => `${server.url}/api/v1/tenants/demo/stream${f.query ? "?" + f.query : ""}`;

    // The plan: every event, and which publisher sends it.
    const plans: Planned[][] = Array.from({ length: PUBLISHERS }, (_, p) =>
      Array.from({ length: TOTAL / PUBLISHERS }, (_, seq) => ({
        type: random() < 0.5 ? "load.a" : "load.b",
        subject: random() < 0.8 ? SUBJECTS[int(0, SUBJECTS.length - 1)] : null,
        // Multi-byte characters, so chunked NDJSON bodies split inside them.
        data: { p, seq, note: `ü€${"x".repeat(int(0, 40))}` },
      })),
    );
    const byId = new Map<number, Planned>();
    let publishing = true;
    /** Set when a publisher failed, so the subscribers stop instead of looping on. */
    let aborted = false;
    const stats = { single: 0, array: 0, ndjson: 0, streamed: 0, connections: 0 };

    async function publisher(p: number): Promise<void> {
      const events = plans[p];
      let i = 0;
      while (i < events.length) {
        const kind = random();
        const n = kind < 0.25 ? 1 : Math.min(events.length - i, int(2, 60));
        const batch = events.slice(i, i + n);
        let res: Response;
        if (n === 1 && random() < 0.8) {
          stats.single++;
          res = await api(server, "/api/v1/tenants/demo/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(batch[0]) });
        } else if (kind < 0.6) {
          stats.array++;
          res = await api(server, "/api/v1/tenants/demo/events", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(batch) });
        } else {
          stats.ndjson++;
          const bytes = new TextEncoder().encode(batch.map((e) => JSON.stringify(e)).join("\n") + (random() < 0.5 ? "\n" : ""));
          let body: BodyInit = bytes;
          if (random() < 0.5) {
            // Streamed in chunks cut at arbitrary bytes: mid-line and mid-character.
            stats.streamed++;
            const cuts = Array.from({ length: int(1, 6) }, () => int(1, bytes.length - 1)).sort((a, b) => a - b);
            body = new ReadableStream<Uint8Array>({
              start(controller) {
                let from = 0;
                for (const cut of [...cuts, bytes.length]) {
                  if (cut > from) controller.enqueue(bytes.slice(from, cut));
                  from = Math.max(from, cut);
                }
                controller.close();
              },
            });
          }
          res = await api(server, "/api/v1/tenants/demo/events", {
            method: "POST",
            headers: { "content-type": "application/x-ndjson" },
            body,
            duplex: "half",
          } as RequestInit);
        }
        const text = await res.text();
        // (Plain checks in this hot loop: it runs in the same process as the server.)
        if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${text}`);
        const { ids } = JSON.parse(text) as { ids: number[] };
        if (ids.length !== n) throw new Error(`${n} events acknowledged with ${ids.length} ids`);
        ids.forEach((id, k) => {
          // Within a request, ids follow the order of the body.
          if (k > 0 && id <= ids[k - 1]) throw new Error(`ids out of body order: ${ids.join(",")}`);
          if (byId.has(id)) throw new Error(`id ${id} acknowledged twice`);
          byId.set(id, batch[k]);
        });
        i += n;
      }
    }

    interface SubscriberResult {
      ids: number[];
      resets: number;
      wrong: string[];
    }

    /** Connects, drops at a random point, resumes from the last id it saw; until publishing ends and it has everything. */
    async function subscriber(f: Filter, firstClient: SseClient | null): Promise<SubscriberResult> {
      const result: SubscriberResult = { ids: [], resets: 0, wrong: [] };
      let client = firstClient;
      let first = true;
      const collect = (c: SseClient) => {
        for (const m of c.messages) {
          if (m.event === "reset") {
            result.resets++;
            continue;
          }
          const event = JSON.parse(m.data);
          if (m.id !== String(event.id) || m.event !== event.type) result.wrong.push(`frame ${m.id}/${m.event} carries ${event.id}/${event.type}`);
          result.ids.push(Number(m.id));
        }
      };
      if (f.start !== "before-publishing") await sleep(int(0, 60));
      for (;;) {
        if (aborted) {
          client?.close();
          return result;
        }
        if (!client) {
          const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
          const last = result.ids.at(-1);
          if (last !== undefined) headers["last-event-id"] = String(last);
          else if (!first || f.start === "header-0") headers["last-event-id"] = "0";
          // (query starts carry their position in the URL on the first connection; the header overrides it later.)
          client = await SseClient.open(stream(f), headers);
          stats.connections++;
          if (client.status !== 200) throw new Error(`${f.name}: stream answered ${client.status}`);
        }
        first = false;
        if (!publishing) {
          // Final connection: stay until the last event of this filter has arrived.
          const expectedLast = Math.max(0, ...[...byId].filter(([, e]) => f.matches(e)).map(([id]) => id));
          await client.until((c) => c.closed || c.ids().includes(expectedLast) || (result.ids.at(-1) ?? 0) >= expectedLast, 10_000);
          if (!client.closed || client.ids().includes(expectedLast)) {
            client.close();
            collect(client);
            return result;
          }
        } else {
          // Drop after a random number of events or a random while, whichever comes first (sometimes at once).
          const k = int(0, 400);
          await client.until((c) => c.closed || c.messages.length >= k, int(0, 50)).catch(() => undefined);
        }
        client.close();
        collect(client);
        client = null;
      }
    }

    // Subscribers that start before anything is published connect first (live at head 0, no position).
    const early = await Promise.all(
      FILTERS.map((f) => (f.start === "before-publishing" ? SseClient.open(stream(f), { authorization: `Bearer ${ADMIN_KEY}` }) : Promise.resolve(null))),
    );
    const subscribers = FILTERS.map((f, i) => subscriber(f, early[i]));
    try {
      await Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => publisher(p)));
    } catch (err) {
      aborted = true;
      await Promise.allSettled(subscribers);
      throw err;
    } finally {
      publishing = false;
    }
    const results = await Promise.all(subscribers);

    // The acknowledgements cover exactly 1..TOTAL: one log, no gaps in ids on a fresh database.
    expect(byId.size).toBe(TOTAL);
    expect([...byId.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    // Every kind of request was exercised, and subscribers really did drop and resume.
    expect(stats.single).toBeGreaterThan(0);
    expect(stats.array).toBeGreaterThan(0);
    expect(stats.ndjson).toBeGreaterThan(0);
    expect(stats.streamed).toBeGreaterThan(0);
    expect(stats.connections).toBeGreaterThan(FILTERS.length * 3);

    // History is the source of truth: it holds exactly what was acknowledged.
    const history = await walkHistory(server, "demo");
    expect(history.map((e) => e.id)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    for (const e of history) {
      const planned = byId.get(e.id)!;
      expect({ type: e.type, subject: e.subject, data: e.data }, `event ${e.id}`).toEqual(planned);
    }

    for (const [i, f] of FILTERS.entries()) {
      const expected = [...byId.keys()].sort((a, b) => a - b).filter((id) => f.matches(byId.get(id)!));
      const fromHistory = (await walkHistory(server, "demo", f.history)).map((e) => e.id);
      expect(fromHistory, `history for ${f.name}`).toEqual(expected);
      const got = results[i];
      expect(got.resets, `resets on ${f.name} (seed ${SEED})`).toBe(0);
      expect(got.wrong, f.name).toEqual([]);
      const seen = new Set<number>();
      const duplicates = got.ids.filter((id) => seen.has(id) || (seen.add(id), false));
      expect(duplicates.slice(0, 20), `duplicates on ${f.name} (seed ${SEED})`).toEqual([]);
      const missing = expected.filter((id) => !seen.has(id));
      expect(missing.slice(0, 20), `missing on ${f.name} (seed ${SEED})`).toEqual([]);
      expect(got.ids, `${f.name} (seed ${SEED})`).toEqual(expected);
    }
  });
});
