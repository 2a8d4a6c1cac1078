/**
 * A load-client worker, forked by run.ts. It holds a share of the SSE
 * subscriber connections (or plays publisher) and answers commands over
 * IPC. Everything here is on raw sockets with the least parsing that still
 * counts correctly: de-chunk, find `\n\n`, read the `id:` and pull the
 * publisher's timestamp out of the data. The worker shares the machine's
 * two cores with the server being measured, so every byte of work here is
 * work the server does not get; run.ts reports this worker's CPU too.
 */
import net from "node:net";
import { Histogram, wallNow } from "./histogram.js";
import { HttpConnection, postHead, postRequest, type Endpoint } from "./http-client.js";
import { ResponseParser } from "./http-response.js";
import type {
  Command,
  DeliveryResult,
  HttpTarget,
  IngestResult,
  PublishResult,
  ReplayResult,
  Reply,
  Request,
  SubscribeResult,
} from "./protocol.js";

// ---------------------------------------------------------------- delivery state

/** Receive time of the socket read being scanned: every frame in one read arrived together. */
let recvNow = 0;

/**
 * The streams of one server under test, with their counters. Streams to
 * both servers stay open side by side, so runs against them can alternate.
 */
class Group {
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
const groupOf = (name: string): Group => {
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
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** One SSE connection: de-chunks, splits frames, counts events. */
class Subscriber {
  readonly socket: net.Socket;
  readonly #parser: ResponseParser;
  readonly #measure: boolean;
  readonly #g: Group;
  #carry = "";
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
        let id = 0;
        let k = start + 3;
        if (text.charCodeAt(k) === 32) k++;
        for (let c = text.charCodeAt(k); c >= 48 && c <= 57; c = text.charCodeAt(++k)) id = id * 10 + (c - 48);
        if (this.#measure) {
          const p = text.indexOf('"t":', k);
          if (p >= 0 && p < end) g.latency.record((recvNow - parseFloat(text.slice(p + 4, p + 30))) * 1000);
        }
        g.delivered++;
        if (g.firstRecv === 0) g.firstRecv = recvNow;
        g.lastRecv = recvNow;
        const reached = id >= g.targetId && this.lastId < g.targetId;
        this.lastId = id;
        if (reached) g.reachedOne();
      }
      start = end + 2;
    }
    this.#carry = start === 0 ? text : text.slice(start);
  }
}

async function subscribe(cmd: Extract<Command, { op: "subscribe" }>): Promise<SubscribeResult> {
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

function waitFor(g: Group, id: number, timeoutMs: number): Promise<DeliveryResult> {
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

function closeGroup(name: string): number {
  const g = groups.get(name);
  if (!g) return 0;
  groups.delete(name);
  for (const s of g.subs) {
    s.open = false;
    s.socket.destroy();
  }
  return g.subs.length;
}

// ---------------------------------------------------------------- publishing

const endpointOf = (t: HttpTarget): Endpoint => ({ host: t.host, port: t.port });

/** A fan-out event: `t` is the wall-clock send time the receivers subtract from their own. */
function tickJson(seq: number, t: number): string {
  return `{"type":"bench.tick","subject":"s1","data":{"t":${t.toFixed(3)},"seq":${seq},"src":"bench"}}`;
}

function lastIdOf(body: Buffer): { first: number; last: number } | null {
  try {
    const ids = (JSON.parse(body.toString("utf8")) as { ids?: number[] }).ids;
    if (!Array.isArray(ids) || ids.length === 0) return null;
    return { first: ids[0], last: ids[ids.length - 1] };
  } catch {
    return null;
  }
}

async function publish(cmd: Extract<Command, { op: "publish" }>): Promise<PublishResult> {
  const ep = endpointOf(cmd.target);
  const res: PublishResult = { sent: 0, acked: 0, firstId: Infinity, lastId: 0, startWall: wallNow(), endWall: 0, errors: 0, errorSamples: [], late: 0 };
  const deadline = performance.now() + cmd.timeoutMs;
  const conns = Array.from({ length: Math.max(1, cmd.conns) }, () => new HttpConnection(ep));
  const send = async (conn: HttpConnection, body: string, contentType: string, events: number) => {
    res.sent += events;
    try {
      const reply = await conn.request(postHead(ep, cmd.target.path, cmd.target.headers, contentType, Buffer.byteLength(body)) + body);
      const ids = reply.status >= 200 && reply.status < 300 ? lastIdOf(reply.body) : null;
      if (ids) {
        res.acked += events;
        res.firstId = Math.min(res.firstId, ids.first);
        res.lastId = Math.max(res.lastId, ids.last);
      } else {
        res.errors++;
        if (res.errorSamples.length < 3) res.errorSamples.push(`HTTP ${reply.status}: ${reply.body.toString("utf8").slice(0, 300)}`);
      }
    } catch (err) {
      res.errors++;
      if (res.errorSamples.length < 3) res.errorSamples.push((err as Error).message);
    }
  };

  if (cmd.mode === "steady") {
    // One single-event POST every 1/rate s, on whichever pooled connection is free:
    // a durable commit can take longer than the interval, so one connection would fall behind.
    const interval = 1000 / cmd.rate;
    const free = [...conns];
    const waiting: ((c: HttpConnection) => void)[] = [];
    const acquire = () => (free.length > 0 ? Promise.resolve(free.pop()!) : new Promise<HttpConnection>((r) => waiting.push(r)));
    const release = (c: HttpConnection) => (waiting.length > 0 ? waiting.shift()!(c) : free.push(c));
    const inflight = new Set<Promise<void>>();
    const t0 = performance.now();
    for (let i = 0; i < cmd.count && performance.now() < deadline; i++) {
      const due = t0 + i * interval;
      const wait = due - performance.now();
      if (wait > 0.5) await new Promise((r) => setTimeout(r, wait));
      const conn = await acquire();
      if (performance.now() - due > interval) res.late++;
      const p = send(conn, tickJson(i, wallNow()), "application/json", 1).finally(() => {
        release(conn);
        inflight.delete(p);
      });
      inflight.add(p);
    }
    await Promise.all(inflight);
  } else {
    // Burst: NDJSON batches back to back on every connection, as fast as the server acks them.
    let seq = 0;
    const lane = async (conn: HttpConnection) => {
      while (seq < cmd.count && performance.now() < deadline) {
        const n = Math.min(cmd.batch, cmd.count - seq);
        const first = seq;
        seq += n;
        const t = wallNow();
        let body = "";
        for (let k = 0; k < n; k++) body += tickJson(first + k, t) + "\n";
        await send(conn, body, "application/x-ndjson", n);
      }
    };
    await Promise.all(conns.map(lane));
  }
  for (const c of conns) c.close();
  res.endWall = wallNow();
  if (res.firstId === Infinity) res.firstId = 0;
  return res;
}

/** Durable ingest: the same prebuilt request sent back to back on every connection for a fixed time. */
async function ingest(cmd: Extract<Command, { op: "ingest" }>): Promise<IngestResult> {
  const ep = endpointOf(cmd.target);
  const event = (i: number) => `{"type":"bench.ingest","subject":"s${i % 16}","data":{"seq":${i},"src":"bench","note":"durable append throughput"}}`;
  const [contentType, body, events] =
    cmd.mode === "single"
      ? ["application/json", event(0), 1]
      : ["application/x-ndjson", Array.from({ length: cmd.batch }, (_, i) => event(i)).join("\n") + "\n", cmd.batch];
  const request = postRequest(ep, cmd.target.path, cmd.target.headers, contentType, body);
  const res: IngestResult = { events: 0, requests: 0, errors: 0, errorSamples: [], elapsedMs: 0, latency: new Histogram().toData() };
  const latency = new Histogram();
  const t0 = performance.now();
  const end = t0 + cmd.durationMs;
  let last = t0;
  const lane = async () => {
    const conn = new HttpConnection(ep);
    try {
      while (performance.now() < end) {
        const s = performance.now();
        try {
          const reply = await conn.request(request);
          last = performance.now();
          latency.record((last - s) * 1000);
          res.requests++;
          if (reply.status >= 200 && reply.status < 300) res.events += events;
          else {
            res.errors++;
            if (res.errorSamples.length < 3) res.errorSamples.push(`HTTP ${reply.status}: ${reply.body.toString("utf8").slice(0, 300)}`);
          }
        } catch (err) {
          res.errors++;
          if (res.errorSamples.length < 3) res.errorSamples.push((err as Error).message);
          // A refused or reset connection: back off briefly instead of spinning.
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: cmd.conns }, lane));
  res.elapsedMs = last - t0;
  res.latency = latency.toData();
  return res;
}

/** One client resuming from `after`, timed until the frame carrying `last` arrives. */
function replay(cmd: Extract<Command, { op: "replay" }>): Promise<ReplayResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const out: ReplayResult = { events: 0, lastId: 0, elapsedMs: 0, headMs: 0, bytes: 0, timedOut: false, error: null };
    let carry = "";
    let done = false;
    const finish = (error: string | null, timedOut = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      out.error = error;
      out.timedOut = timedOut;
      if (out.elapsedMs === 0) out.elapsedMs = performance.now() - t0;
      socket.destroy();
      resolve(out);
    };
    let status = 0;
    const parser = new ResponseParser({
      onHead: (h) => {
        status = h.status;
        out.headMs = performance.now() - t0;
      },
      onBody: (bytes) => {
        if (status !== 200) return finish(`HTTP ${status}: ${bytes.toString("utf8").slice(0, 300)}`);
        out.bytes += bytes.length;
        const text = carry.length > 0 ? carry + bytes.toString("latin1") : bytes.toString("latin1");
        let start = 0;
        for (;;) {
          const end = text.indexOf("\n\n", start);
          if (end < 0) break;
          if (text.charCodeAt(start) === 105 && text.charCodeAt(start + 1) === 100) {
            let id = 0;
            let k = start + 3;
            if (text.charCodeAt(k) === 32) k++;
            for (let c = text.charCodeAt(k); c >= 48 && c <= 57; c = text.charCodeAt(++k)) id = id * 10 + (c - 48);
            out.events++;
            out.lastId = id;
            if (id >= cmd.last) {
              out.elapsedMs = performance.now() - t0;
              return finish(null);
            }
          }
          start = end + 2;
        }
        carry = start === 0 ? text : text.slice(start);
      },
      onEnd: () => finish("stream ended before the last event"),
    });
    const socket = net.connect({
      host: cmd.target.host,
      port: cmd.target.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          try {
            parser.feed(Buffer.from(buf.buffer, buf.byteOffset, n));
          } catch (err) {
            finish(`protocol error: ${(err as Error).message}`);
          }
          return true;
        },
      },
    });
    let head = `GET ${cmd.target.path} HTTP/1.1\r\nHost: ${cmd.target.host}:${cmd.target.port}\r\nAccept: text/event-stream\r\nLast-Event-ID: ${cmd.after}\r\n`;
    for (const [k, v] of Object.entries(cmd.target.headers)) head += `${k}: ${v}\r\n`;
    socket.write(head + "\r\n", "latin1");
    socket.on("error", (err) => finish(`socket error: ${err.message}`));
    socket.on("close", () => finish("connection closed before the last event"));
    const timer = setTimeout(() => finish(null, true), cmd.timeoutMs);
  });
}

// ---------------------------------------------------------------- command loop

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case "subscribe":
      return subscribe(cmd);
    case "reset":
      if (cmd.group !== undefined) groupOf(cmd.group).reset();
      return null;
    case "waitFor":
      return waitFor(groupOf(cmd.group), cmd.id, cmd.timeoutMs);
    case "close":
      return (cmd.group === undefined ? [...groups.keys()] : [cmd.group]).reduce((n, name) => n + closeGroup(name), 0);
    case "publish":
      return publish(cmd);
    case "ingest":
      return ingest(cmd);
    case "replay":
      return replay(cmd);
  }
}

if (!process.send) {
  console.error("load-client.ts is a worker: run.ts forks it with an IPC channel");
  process.exit(2);
}

process.on("message", (msg: Request) => {
  handle(msg).then(
    (result) => process.send!({ reqId: msg.reqId, ok: true, result } satisfies Reply),
    (err: Error) => process.send!({ reqId: msg.reqId, ok: false, error: err?.stack ?? String(err) } satisfies Reply),
  );
});

// The orchestrator gone (crash, Ctrl-C) means nobody will ever close these sockets: leave.
process.on("disconnect", () => process.exit(0));
