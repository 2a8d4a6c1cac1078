/**
 * The publisher side of a load-client worker: fan-out events carrying their
 * send time (steady or burst; to the events API, or as Mercure updates), and
 * durable-ingest load from prebuilt requests, on keep-alive raw-socket
 * connections.
 */
import { Histogram, wallNow } from "./histogram.js";
import { HttpConnection, postHead, postRequest, type Endpoint } from "./http-client.js";
import { idKey, type Command, type HttpTarget, type IngestResult, type PublishResult } from "./protocol.js";

export const endpointOf = (t: HttpTarget): Endpoint => ({ host: t.host, port: t.port });

/**
/**
 * A fan-out event's data: `t` is the wall-clock send time the receivers
 * subtract from their own. Padded to `bytes` of JSON when that is more than
 * it takes already.
 */
function tickData(seq: number, t: number, bytes = 0): string {
  const base = `{"t":${t.toFixed(3)},"seq":${seq},"src":"bench"`;
  // `,"pad":"` and `"}` around the padding.
  const pad = bytes - base.length - 10;
  return pad > 0 ? `${base},"pad":"${"x".repeat(pad)}"}` : base + "}";
}

/** What a tick's JSON holds besides its data. */
const TICK_WRAPPER = `{"type":"bench.tick","subject":"s1","data":}`.length;

/** The data bytes that make a whole tick `eventBytes` long (a peer's frames padded to ours). */
export const tickDataBytes = (eventBytes: number): number => Math.max(0, eventBytes - TICK_WRAPPER);

/** A fan-out event, its data padded to `bytes` of JSON. */
export function tickJson(seq: number, t: number, bytes?: number): string {
  return `{"type":"bench.tick","subject":"s1","data":${tickData(seq, t, bytes)}}`;
}

/**
 * A tick as a Mercure update: the same data, and an id ending in the send
 * time in µs, which grows from one update to the next as log ids do.
 */
function tickForm(encodedTopic: string, seq: number, t: number, bytes?: number): string {
  const id = `urn:switchboard-bench:tick:${Math.round(t * 1000)}`;
  return `topic=${encodedTopic}&id=${encodeURIComponent(id)}&data=${encodeURIComponent(tickData(seq, t, bytes))}`;
}

/** The ids a publish was given: ours and the floor list them (`ids`), nchan names the last (`last_message_id`), Mercure answers with one as text. */
function lastIdOf(body: Buffer, mercure: boolean): { first: number; last: number } | null {
  if (mercure) {
    const m = /(\d+)\s*$/.exec(body.toString("utf8"));
    return m ? { first: Number(m[1]), last: Number(m[1]) } : null;
  }
  try {
    const reply = JSON.parse(body.toString("utf8")) as { ids?: number[]; last_message_id?: string };
    if (typeof reply.last_message_id === "string") {
      const id = idKey(reply.last_message_id);
      return Number.isFinite(id) ? { first: id, last: id } : null;
    }
    const ids = reply.ids;
    if (!Array.isArray(ids) || ids.length === 0) return null;
    return { first: ids[0], last: ids[ids.length - 1] };
  } catch {
    return null;
  }
}

export async function publish(cmd: Extract<Command, { op: "publish" }>): Promise<PublishResult> {
  const mercure = cmd.mercureTopic !== undefined;
  if (mercure && cmd.mode !== "steady") throw new Error("Mercure takes one update a request: publish to it in steady mode");
  const ep = endpointOf(cmd.target);
  const res: PublishResult = { sent: 0, acked: 0, firstId: Infinity, lastId: 0, startWall: wallNow(), endWall: 0, errors: 0, errorSamples: [], late: 0, requestP99Ms: NaN, requestMaxMs: NaN };
  const deadline = performance.now() + cmd.timeoutMs;
  const conns = Array.from({ length: Math.max(1, cmd.conns) }, () => new HttpConnection(ep));
  const requests = new Histogram();
  const topic = encodeURIComponent(cmd.mercureTopic ?? "");
  // Given events are sent as they are (they carry no send time); otherwise timestamped ticks.
  const dataBytes = cmd.payloadBytes ?? tickDataBytes(cmd.target.padTicksTo ?? 0);
  const eventAt = cmd.events?.length
    ? (seq: number) => cmd.events![seq % cmd.events!.length]
    : mercure
      ? (seq: number, t: number) => tickForm(topic, seq, t, dataBytes)
      : (seq: number, t: number) => tickJson(seq, t, dataBytes);
  const singleType = mercure ? "application/x-www-form-urlencoded" : "application/json";
  const send = async (conn: HttpConnection, body: string, contentType: string, events: number) => {
    res.sent += events;
    try {
      const sentAt = performance.now();
      const reply = await conn.request(postHead(ep, cmd.target.path, cmd.target.headers, contentType, Buffer.byteLength(body)) + body);
      requests.record((performance.now() - sentAt) * 1000);
      const ids = reply.status >= 200 && reply.status < 300 ? lastIdOf(reply.body, mercure) : null;
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
      const p = send(conn, eventAt(i, wallNow()), singleType, 1).finally(() => {
        release(conn);
        inflight.delete(p);
      });
      inflight.add(p);
    }
    await Promise.all(inflight);
  } else {
    // Burst: NDJSON batches back to back on every connection, as fast as the server acks them;
    // with batches of 1, single-event JSON POSTs (what webhooks send, and all nchan takes).
    let seq = 0;
    const lane = async (conn: HttpConnection) => {
      while (seq < cmd.count && performance.now() < deadline) {
        const n = Math.min(cmd.batch, cmd.count - seq);
        const first = seq;
        seq += n;
        const t = wallNow();
        if (cmd.batch === 1) {
          await send(conn, eventAt(first, t), "application/json", 1);
          continue;
        }
        let body = "";
        for (let k = 0; k < n; k++) body += eventAt(first + k, t) + "\n";
        await send(conn, body, "application/x-ndjson", n);
      }
    };
    await Promise.all(conns.map(lane));
  }
  for (const c of conns) c.close();
  res.endWall = wallNow();
  res.requestP99Ms = requests.quantileUs(0.99) / 1000;
  res.requestMaxMs = requests.maxUs / 1000;
  if (res.firstId === Infinity) res.firstId = 0;
  return res;
}

/** Durable ingest: the same prebuilt request sent back to back on every connection for a fixed time. */
export async function ingest(cmd: Extract<Command, { op: "ingest" }>): Promise<IngestResult> {
  const ep = endpointOf(cmd.target);
  const event = (i: number) => `{"type":"bench.ingest","subject":"s${i % 16}","data":{"seq":${i},"src":"bench","note":"durable append throughput"}}`;
  const batch = Array.from({ length: cmd.batch }, (_, i) => event(i));
  const [contentType, body, events] =
    cmd.mode === "single"
      ? ["application/json", event(0), 1]
      : cmd.mode === "array"
        ? ["application/json", `[${batch.join(",")}]`, cmd.batch]
        : ["application/x-ndjson", batch.join("\n") + "\n", cmd.batch];
  const request = postRequest(ep, cmd.target.path, cmd.target.headers, contentType, body);
  const res: IngestResult = { events: 0, requests: 0, errors: 0, errorSamples: [], elapsedMs: 0, latency: new Histogram().toData() };
  const latency = new Histogram();
  const t0 = performance.now();
  const end = t0 + cmd.durationMs;
  let last = t0;
  const lane = async () => {
    const conn = new HttpConnection(ep);
    let sent = 0;
    try {
      while (performance.now() < end && sent++ < (cmd.maxRequests ?? Infinity)) {
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
