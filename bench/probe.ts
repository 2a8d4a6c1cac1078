/**
 * The probe tenant: what another, well-behaved tenant sees while a hostile or
 * heavy client works on the server. Three probes on a fixed schedule:
 * `GET /healthz`, a single-event publish to the probe tenant (send to 201),
 * and that event's delivery on the probe tenant's own open stream (scheduled
 * send time to the socket read that brings it).
 *
 * Open loop: every latency is measured from the time the request was
 * *scheduled*, not from when a connection was free to send it, so a stall
 * shows up in every sample it delays, not in one (no coordinated omission).
 * Each probe has a pool of keep-alive connections; a tick that finds them
 * all busy is not sent (that would pile a backlog onto a stalled server) but
 * counted as missed, and its latency is taken as the time until the next
 * answer arrives: the earliest it could have been answered.
 */
import net from "node:net";
import { Histogram, wallNow } from "./histogram.js";
import { HttpConnection, postHead } from "./http-client.js";
import { ResponseParser } from "./http-response.js";
import type { Command, ProbeResult, ProbeSeries, ProbeTargets } from "./protocol.js";

const HEALTHZ_CONNS = 16;
const PUBLISH_CONNS = 8;

/** One probe's figures over a window; every time here is wall-clock ms. */
class Series {
  readonly latency = new Histogram();
  scheduled = 0;
  missedCount = 0;
  errors = 0;
  readonly errorSamples: string[] = [];
  /** Scheduled times of ticks that found no free connection, waiting for the next answer. */
  #missed: number[] = [];

  record(scheduled: number, now: number): void {
    this.latency.record((now - scheduled) * 1000);
    // The server answered now: missed ticks could not have been answered earlier.
    for (const m of this.#missed) this.latency.record((now - m) * 1000);
    this.#missed = [];
  }

  miss(scheduled: number): void {
    this.missedCount++;
    this.#missed.push(scheduled);
  }

  fail(why: string): void {
    this.errors++;
    if (this.errorSamples.length < 3) this.errorSamples.push(why);
  }

  /** Closes the window: what is still pending (plus missed ticks) counts as unanswered, at its age. */
  finish(pending: readonly number[], now: number): ProbeSeries {
    const open = [...pending, ...this.#missed];
    for (const s of open) this.latency.record((now - s) * 1000);
    this.#missed = [];
    return {
      latency: this.latency.toData(),
      scheduled: this.scheduled,
      missed: this.missedCount,
      errors: this.errors,
      errorSamples: this.errorSamples,
      unanswered: open.length,
      oldestUnansweredMs: open.length ? now - Math.min(...open) : 0,
    };
  }
}

/** A pool of connections sending one kind of request on schedule. */
class Ticker {
  readonly #all: HttpConnection[];
  readonly #free: HttpConnection[];
  /** Scheduled time of each request in flight. */
  readonly inFlight = new Set<number>();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(
    readonly series: Series,
    conns: HttpConnection[],
    readonly request: (scheduled: number) => string,
    readonly onReply: (status: number, body: Buffer, scheduled: number) => string | null,
    readonly onMiss?: (scheduled: number) => void,
  ) {
    this.#all = conns;
    this.#free = [...conns];
  }

  start(everyMs: number): void {
    const t0 = wallNow();
    let i = 0;
    const tick = () => {
      if (this.#stopped) return;
      const now = wallNow();
      // Catch up on ticks a late timer skipped, each with its own scheduled time.
      for (let due = t0 + i * everyMs; due <= now; due = t0 + ++i * everyMs) this.#fire(due);
      this.#timer = setTimeout(tick, Math.max(0, t0 + i * everyMs - wallNow()));
    };
    tick();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** Closes every connection, busy ones too: a stalled server must not get their requests back later. */
  close(): void {
    this.stop();
    for (const c of this.#all) c.close();
  }

  #fire(scheduled: number): void {
    this.series.scheduled++;
    const conn = this.#free.pop();
    if (!conn) {
      this.onMiss?.(scheduled);
      return this.series.miss(scheduled);
    }
    this.inFlight.add(scheduled);
    conn.request(this.request(scheduled)).then(
      (reply) => {
        const now = wallNow();
        this.inFlight.delete(scheduled);
        this.#free.push(conn);
        const err = this.onReply(reply.status, reply.body, scheduled);
        if (err) this.series.fail(err);
        // An error answer still proves the server answered; its time is what a client waited.
        this.series.record(scheduled, now);
      },
      (e: Error) => {
        this.inFlight.delete(scheduled);
        this.#free.push(conn);
        this.series.fail(e.message);
      },
    );
  }
}

/** The probe tenant's stream: counts the frames of the probe's own events and times them. */
class ProbeStream {
  readonly socket: net.Socket;
  status = 0;
  #carry = "";
  /** Acked events not yet seen: id → scheduled send time. */
  readonly awaiting = new Map<number, number>();
  /** Ids seen before their publish was acked (the stream can beat the 201). */
  readonly early = new Set<number>();
  series = new Series();
  onClose: (() => void) | null = null;

  constructor(target: ProbeTargets["stream"]) {
    const parser = new ResponseParser({
      onHead: (h) => (this.status = h.status),
      onBody: (bytes) => this.#scan(bytes.toString("utf8")),
      onEnd: () => this.socket.destroy(),
    });
    this.socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    this.socket.on("data", (chunk) => parser.feed(chunk));
    this.socket.on("error", () => {});
    this.socket.on("close", () => this.onClose?.());
    let head = `GET ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nAccept: text/event-stream\r\n`;
    for (const [k, v] of Object.entries(target.headers)) head += `${k}: ${v}\r\n`;
    this.socket.write(head + "\r\n", "latin1");
  }

  /** Called when the publish of `id` is acked. */
  acked(id: number, scheduled: number): void {
    if (this.early.delete(id)) return;
    this.awaiting.set(id, scheduled);
  }

  #scan(text: string): void {
    const now = wallNow();
    text = this.#carry + text;
    let start = 0;
    for (let end = text.indexOf("\n\n"); end >= 0; start = end + 2, end = text.indexOf("\n\n", start)) {
      const frame = text.slice(start, end);
      const id = /^id: ?(\d+)$/m.exec(frame);
      const t = /"t":([\d.]+)/.exec(frame);
      if (!id || !t) continue;
      const n = Number(id[1]);
      // The event carries its scheduled send time: delivery latency needs no lookup.
      this.series.record(Number(t[1]), now);
      if (!this.awaiting.delete(n)) this.early.add(n);
    }
    this.#carry = text.slice(start);
  }
}

let targets: ProbeTargets | null = null;
let stream: ProbeStream | null = null;
let healthz: Ticker | null = null;
let publish: Ticker | null = null;
let windowStart = 0;
let seq = 0;

/** Opens the probe tenant's stream and waits for its 200. */
export async function probeOpen(cmd: Extract<Command, { op: "probeOpen" }>): Promise<null> {
  probeClose();
  targets = cmd.probe;
  const s = (stream = new ProbeStream(cmd.probe.stream));
  const deadline = Date.now() + cmd.timeoutMs;
  while (s.status === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (s.status !== 200) throw new Error(`probe stream answered ${s.status || "nothing"} within ${cmd.timeoutMs} ms`);
  return null;
}

export function probeStart(cmd: Extract<Command, { op: "probeStart" }>): null {
  if (!targets || !stream) throw new Error("probeStart before probeOpen");
  const t = targets;
  const s = stream;
  s.series = new Series();
  s.awaiting.clear();
  s.early.clear();
  const healthzRequest = `GET ${t.healthz.path} HTTP/1.1\r\nHost: ${t.healthz.host}:${t.healthz.port}\r\n\r\n`;
  healthz = new Ticker(
    new Series(),
    Array.from({ length: HEALTHZ_CONNS }, () => new HttpConnection(t.healthz)),
    () => healthzRequest,
    (status) => (status === 200 ? null : `HTTP ${status}`),
  );
  publish = new Ticker(
    new Series(),
    Array.from({ length: PUBLISH_CONNS }, () => new HttpConnection(t.publish)),
    (scheduled) => {
      const body = `{"type":"probe.ping","subject":"probe","data":{"t":${scheduled.toFixed(3)},"seq":${seq++}}}`;
      return postHead(t.publish, t.publish.path, t.publish.headers, "application/json", Buffer.byteLength(body)) + body;
    },
    (status, body, scheduled) => {
      if (status !== 201) return `HTTP ${status}: ${body.toString("utf8").slice(0, 200)}`;
      const id = (JSON.parse(body.toString("utf8")) as { ids: number[] }).ids[0];
      s.acked(id, scheduled);
      return null;
    },
    // An event never sent is never delivered: its delivery waits for the next one that is.
    (scheduled) => s.series.miss(scheduled),
  );
  windowStart = wallNow();
  healthz.start(cmd.healthzEveryMs);
  publish.start(cmd.publishEveryMs);
  return null;
}

/** Stops scheduling, gives answers and deliveries still due up to graceMs, and returns the window's figures. */
export async function probeStop(cmd: Extract<Command, { op: "probeStop" }>): Promise<ProbeResult> {
  if (!healthz || !publish || !stream) throw new Error("probeStop before probeStart");
  const [h, p, s] = [healthz, publish, stream];
  h.stop();
  p.stop();
  const windowMs = wallNow() - windowStart;
  const deadline = Date.now() + cmd.graceMs;
  while ((h.inFlight.size > 0 || p.inFlight.size > 0 || s.awaiting.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const now = wallNow();
  // A publish never acked was never delivered either: it counts against both.
  const result: ProbeResult = {
    healthz: h.series.finish([...h.inFlight], now),
    publish: p.series.finish([...p.inFlight], now),
    delivery: { ...s.series.finish([...s.awaiting.values(), ...p.inFlight], now), scheduled: p.series.scheduled },
    windowMs,
  };
  closeTickers();
  return result;
}

function closeTickers(): void {
  healthz?.close();
  publish?.close();
  healthz = publish = null;
}

export function probeClose(): null {
  closeTickers();
  stream?.socket.destroy();
  stream = null;
  targets = null;
  return null;
}
