/**
 * The subscriber side of a load-client worker: SSE streams on raw sockets,
 * grouped by the server they go to. Parsing is the least that still counts
 * correctly: de-chunk, find `\n\n`, read the number the `id:` ends with and
 * pull the publisher's timestamp out of the data for the latency histogram.
 */
import net from "node:net";
import { Histogram, wallNow } from "./histogram.js";
import { ResponseParser } from "./http-response.js";
import { ID_TAG_SCALE, type Command, type DeliveryResult, type HttpTarget, type SubscribeResult } from "./protocol.js";

/** Receive time of the socket read being scanned: every frame in one read arrived together. */
let recvNow = 0;

/**
 * The streams of one server under test, with their counters. Streams to
 * both servers stay open side by side, so runs against them can alternate.
 */
export class Group {
  readonly subs: Subscriber[] = [];
  delivered = 0;
  latency = new Histogram();
  firstRecv = 0;
  lastRecv = 0;
  dropped = 0;
  /** The id every stream must reach for the pending waitFor, or Infinity when none is pending. */
  targetId = Infinity;
  unreached = 0;
  onAllReached: (() => void) | null = null;

  reachedOne(): void {
    this.unreached--;
    if (this.unreached <= 0 && this.onAllReached) {
      const done = this.onAllReached;
      this.onAllReached = null;
      done();
    }
  }

  reset(): void {
    this.delivered = 0;
    this.latency = new Histogram();
    this.firstRecv = 0;
    this.lastRecv = 0;
    this.dropped = 0;
  }
}

const groups = new Map<string, Group>();
export const groupOf = (name: string): Group => {
  let g = groups.get(name);
  if (!g) groups.set(name, (g = new Group()));
  return g;
};

/**
 * One read buffer for every stream in this worker (`onread`): reads skip the
 * stream machinery and allocate nothing, which roughly halves the client's
 * CPU per read. Safe to share because each read is parsed (copied into a
 * string) before the callback returns.
 */
export const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** One SSE connection: de-chunks, splits frames, counts events. */
class Subscriber {
  readonly socket: net.Socket;
  readonly #parser: ResponseParser;
  readonly #measure: boolean;
  readonly #g: Group;
  #carry = "";
  /**
   * The highest id seen. A log position grows frame by frame; a bench
   * Mercure update's id is its send time, and updates sent on several
   * connections can reach the log in another order.
   */
  lastId = 0;
  open = false;
  /** Status and body start of a refused stream, for the report. */
  status = 0;
  failText = "";

  constructor(group: Group, target: HttpTarget, measureLatency: boolean, onHead: (status: number) => void, onFailBody: (text: string) => void) {
    this.#g = group;
    this.#measure = measureLatency;
    this.#parser = new ResponseParser({
      onHead: (head) => {
        this.status = head.status;
        if (this.status === 200) {
          this.open = true;
          onHead(this.status);
        }
      },
      onBody: (bytes) => {
        if (this.status === 200) this.#scan(bytes);
        else if (this.failText.length < 300) this.failText += bytes.toString("utf8");
      },
      onEnd: () => {
        if (this.status !== 200) onFailBody(`HTTP ${this.status}: ${this.failText.slice(0, 300)}`);
        this.socket.destroy();
      },
    });
    this.socket = net.connect({
      host: target.host,
      port: target.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          recvNow = wallNow();
          try {
            this.#parser.feed(Buffer.from(buf.buffer, buf.byteOffset, n));
          } catch (err) {
            onFailBody(`protocol error: ${(err as Error).message}`);
            this.socket.destroy();
          }
          return true;
        },
      },
    });
    let head = `GET ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nAccept: text/event-stream\r\n`;
    for (const [k, v] of Object.entries(target.headers)) head += `${k}: ${v}\r\n`;
    this.socket.write(head + "\r\n", "latin1");
  }

  /** Called when the socket closes; counts a drop if it was an established stream. */
  closed(): void {
    if (!this.open) return;
    this.open = false;
    this.#g.dropped++;
    if (this.lastId < this.#g.targetId) this.#g.reachedOne();
  }

  #scan(bytes: Buffer): void {
    const g = this.#g;
    const text = this.#carry.length > 0 ? this.#carry + bytes.toString("latin1") : bytes.toString("latin1");
    let start = 0;
    for (;;) {
      const end = text.indexOf("\n\n", start);
      if (end < 0) break;
      // Event frames start with "id: "; `retry:` and `: keep-alive` comments are skipped.
      if (text.charCodeAt(start) === 105 /* i */ && text.charCodeAt(start + 1) === 100 /* d */) {
        // The log position (native), the send time a bench Mercure update's id ends with, or nchan's message id.
        let id = 0;
        let k = start + 3;
        if (text.charCodeAt(k) === 32) k++;
        // nchan's `<seconds>:<n>` is keyed as idKey() keys it (protocol.ts); any other id by its last run of digits.
        let head = -1; // -1: only digits so far; -2: not nchan's shape; else the seconds before the colon
        for (let c = text.charCodeAt(k); c !== 10 && k < end; c = text.charCodeAt(++k)) {
          if (c >= 48 && c <= 57) id = id * 10 + (c - 48);
          else if (c === 58 /* : */ && head === -1) {
            head = id;
            id = 0;
          } else {
            head = -2;
            id = 0;
          }
        }
        if (head >= 0) id = head * ID_TAG_SCALE + id;
        if (this.#measure) {
          const p = text.indexOf('"t":', k);
          if (p >= 0 && p < end) g.latency.record((recvNow - parseFloat(text.slice(p + 4, p + 30))) * 1000);
        }
        g.delivered++;
        if (g.firstRecv === 0) g.firstRecv = recvNow;
        g.lastRecv = recvNow;
        const reached = id >= g.targetId && this.lastId < g.targetId;
        if (id > this.lastId) this.lastId = id;
        if (reached) g.reachedOne();
      }
      start = end + 2;
    }
    this.#carry = start === 0 ? text : text.slice(start);
  }
}

export async function subscribe(cmd: Extract<Command, { op: "subscribe" }>): Promise<SubscribeResult> {
  const group = groupOf(cmd.group);
  const t0 = performance.now();
  const failures: string[] = [];
  let opened = 0;
  let failed = 0;
  let next = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      let settled = false;
      const settle = (ok: boolean, why?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (ok) opened++;
        else {
          failed++;
          if (failures.length < 5 && why) failures.push(why);
        }
        resolve();
      };
      const sub = new Subscriber(
        group,
        cmd.target,
        cmd.measureLatency,
        () => settle(true),
        (text) => settle(false, text),
      );
      group.subs.push(sub);
      const timer = setTimeout(() => {
        settle(false, `no response head within ${cmd.timeoutMs} ms`);
        sub.socket.destroy();
      }, cmd.timeoutMs);
      sub.socket.on("error", (err) => settle(false, `socket error: ${err.message}`));
      sub.socket.on("close", () => {
        settle(false, sub.status ? `HTTP ${sub.status}: ${sub.failText.slice(0, 300)}` : "closed before the response head");
        sub.closed();
      });
    });
  // A bounded number of connects in flight, so the server's accept backlog never overflows.
  const lane = async () => {
    while (next < cmd.count) {
      next++;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(cmd.concurrency, cmd.count) }, lane));
  return { opened, failed, failures, elapsedMs: performance.now() - t0 };
}

export function waitFor(g: Group, id: number, timeoutMs: number): Promise<DeliveryResult> {
  g.targetId = id;
  g.unreached = 0;
  for (const s of g.subs) if (s.open && s.lastId < id) g.unreached++;
  return new Promise((resolve) => {
    const finish = (timedOut: boolean) => {
      clearTimeout(timer);
      g.onAllReached = null;
      const result: DeliveryResult = {
        delivered: g.delivered,
        latency: g.latency.toData(),
        firstRecv: g.firstRecv,
        lastRecv: g.lastRecv,
        dropped: g.dropped,
        open: g.subs.filter((s) => s.open).length,
        unreached: Math.max(0, g.unreached),
        timedOut,
      };
      g.targetId = Infinity;
      resolve(result);
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    if (g.unreached === 0) finish(false);
    else g.onAllReached = () => finish(false);
  });
}

export function closeGroup(name: string): number {
  const g = groups.get(name);
  if (!g) return 0;
  groups.delete(name);
  for (const s of g.subs) {
    s.open = false;
    s.socket.destroy();
  }
  return g.subs.length;
}

/** Closes every group's streams; returns how many were open. */
export function closeAllGroups(): number {
  return [...groups.keys()].reduce((n, name) => n + closeGroup(name), 0);
}
