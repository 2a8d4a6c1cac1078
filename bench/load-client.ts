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

const stats = {
  delivered: 0,
  latency: new Histogram(),
  firstRecv: 0,
  lastRecv: 0,
  dropped: 0,
};

/** The id every connection must reach for the current waitFor, or Infinity when none is pending. */
let targetId = Infinity;
let unreached = 0;
let onAllReached: (() => void) | null = null;

const subs: Subscriber[] = [];

/** One SSE connection: de-chunks, splits frames, counts events. */
class Subscriber {
  readonly socket: net.Socket;
  readonly #parser: ResponseParser;
  readonly #measure: boolean;
  #carry = "";
  lastId = 0;
  open = false;
  /** Status and body start of a refused stream, for the report. */
  status = 0;
  failText = "";

  constructor(target: HttpTarget, measureLatency: boolean, onHead: (status: number) => void, onFailBody: (text: string) => void) {
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
    this.socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    let head = `GET ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nAccept: text/event-stream\r\n`;
    for (const [k, v] of Object.entries(target.headers)) head += `${k}: ${v}\r\n`;
    this.socket.write(head + "\r\n", "latin1");
    this.socket.on("data", (chunk: Buffer) => {
      recvNow = wallNow();
      try {
        this.#parser.feed(chunk);
      } catch (err) {
        onFailBody(`protocol error: ${(err as Error).message}`);
        this.socket.destroy();
      }
    });
  }

  /** Called when the socket closes; counts a drop if it was an established stream. */
  closed(): void {
    if (!this.open) return;
    this.open = false;
    stats.dropped++;
    if (this.lastId < targetId) reachedOne();
  }

  #scan(bytes: Buffer): void {
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
          if (p >= 0 && p < end) stats.latency.record((recvNow - parseFloat(text.slice(p + 4, p + 30))) * 1000);
        }
        stats.delivered++;
        if (stats.firstRecv === 0) stats.firstRecv = recvNow;
        stats.lastRecv = recvNow;
        if (id >= targetId && this.lastId < targetId) {
          this.lastId = id;
          reachedOne();
        } else {
          this.lastId = id;
        }
      }
      start = end + 2;
    }
    this.#carry = start === 0 ? text : text.slice(start);
  }
}

function reachedOne(): void {
  unreached--;
  if (unreached <= 0 && onAllReached) {
    const done = onAllReached;
    onAllReached = null;
    done();
  }
}

async function subscribe(cmd: Extract<Command, { op: "subscribe" }>): Promise<SubscribeResult> {
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
        cmd.target,
        cmd.measureLatency,
        () => settle(true),
        (text) => settle(false, text),
      );
      subs.push(sub);
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

function reset(): void {
  stats.delivered = 0;
  stats.latency = new Histogram();
  stats.firstRecv = 0;
  stats.lastRecv = 0;
  stats.dropped = 0;
}

function waitFor(id: number, timeoutMs: number): Promise<DeliveryResult> {
  targetId = id;
  unreached = 0;
  for (const s of subs) if (s.open && s.lastId < id) unreached++;
  return new Promise((resolve) => {
    const finish = (timedOut: boolean) => {
      clearTimeout(timer);
      onAllReached = null;
      const result: DeliveryResult = {
        delivered: stats.delivered,
        latency: stats.latency.toData(),
        firstRecv: stats.firstRecv,
        lastRecv: stats.lastRecv,
        dropped: stats.dropped,
        open: subs.filter((s) => s.open).length,
        unreached: Math.max(0, unreached),
        timedOut,
      };
      targetId = Infinity;
      resolve(result);
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    if (unreached === 0) finish(false);
    else onAllReached = () => finish(false);
  });
}

function closeAll(): number {
  const n = subs.length;
  for (const s of subs) {
    s.open = false;
    s.socket.destroy();
  }
  subs.length = 0;
  return n;
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
    const socket = net.connect({ host: cmd.target.host, port: cmd.target.port, noDelay: true });
    let head = `GET ${cmd.target.path} HTTP/1.1\r\nHost: ${cmd.target.host}:${cmd.target.port}\r\nAccept: text/event-stream\r\nLast-Event-ID: ${cmd.after}\r\n`;
    for (const [k, v] of Object.entries(cmd.target.headers)) head += `${k}: ${v}\r\n`;
    socket.write(head + "\r\n", "latin1");
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.feed(chunk);
      } catch (err) {
        finish(`protocol error: ${(err as Error).message}`);
      }
    });
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
      reset();
      return null;
    case "waitFor":
      return waitFor(cmd.id, cmd.timeoutMs);
    case "closeAll":
      return closeAll();
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
