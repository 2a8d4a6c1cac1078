/**
 * The floor: the least a Node SSE broadcaster can do, measured with the
 * same load client and the same accounting as Switchboard. No durability,
 * no auth, no filtering, no buffering policy; one preformatted frame per
 * event, handed to every open response with `res.write`. Ratios against it
 * show what Switchboard's features cost on top of Node itself.
 *
 *   GET  /stream   200 text/event-stream, kept open
 *   POST /publish  one JSON event, a JSON array, or NDJSON lines
 *   POST /accept   one JSON event: parsed and answered 201, nothing else (the
 *                  floor for single-event POSTs: what any Node handler pays)
 *   GET  /healthz  200 when listening
 *
 * Frames carry the same JSON shape as Switchboard's (id, tenant, type,
 * subject, data, ts), so both servers write the same number of bytes.
 */
import http from "node:http";

const port = Number(process.env.PORT ?? 3999);
const host = process.env.HOST ?? "127.0.0.1";

const streams = new Set<http.ServerResponse>();
let nextId = 0;

interface Posted {
  type?: unknown;
  subject?: unknown;
  data?: unknown;
}

function frameOf(e: Posted): { id: number; frame: Buffer } {
  const id = ++nextId;
  const type = typeof e.type === "string" ? e.type : "bench.tick";
  const json = `{"id":${id},"tenant":"demo","type":"${type}","subject":${JSON.stringify(e.subject ?? null)},"data":${JSON.stringify(e.data ?? {})},"ts":"${new Date().toISOString()}"}`;
  // Built once, written to every subscriber.
  return { id, frame: Buffer.from(`id: ${id}\nevent: ${type}\ndata: ${json}\n\n`) };
}

function publish(body: string, ndjson: boolean, res: http.ServerResponse): void {
  let events: Posted[];
  try {
    if (ndjson) events = body.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Posted);
    else {
      const parsed = JSON.parse(body) as Posted | Posted[];
      events = Array.isArray(parsed) ? parsed : [parsed];
    }
  } catch {
    res.writeHead(400, { "content-type": "application/json" }).end('{"error":"bad json"}');
    return;
  }
  const ids: number[] = [];
  for (const e of events) {
    const { id, frame } = frameOf(e);
    ids.push(id);
    for (const s of streams) s.write(frame);
  }
  const out = JSON.stringify({ ids });
  res.writeHead(201, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }).end(out);
}

/** Reads, parses, answers: no frame, no streams, so it measures node:http and JSON.parse alone. */
function accept(body: string, res: http.ServerResponse): void {
  try {
    JSON.parse(body);
  } catch {
    res.writeHead(400, { "content-type": "application/json" }).end('{"error":"bad json"}');
    return;
  }
  const out = `{"ids":[${++nextId}]}`;
  res.writeHead(201, { "content-type": "application/json", "content-length": out.length }).end(out);
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? "/").split("?", 1)[0];
  if (req.method === "GET" && path === "/stream") {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    // Sends the head and the first chunk now, so the client knows it is subscribed.
    res.write("retry: 2000\n\n");
    streams.add(res);
    res.on("close", () => streams.delete(res));
    return;
  }
  if (req.method === "POST" && path === "/publish") {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => publish(Buffer.concat(chunks).toString("utf8"), /ndjson/.test(req.headers["content-type"] ?? ""), res));
    return;
  }
  if (req.method === "POST" && path === "/accept") {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => accept(Buffer.concat(chunks).toString("utf8"), res));
    return;
  }
  if (req.method === "GET" && path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain", "content-length": 2 }).end("ok");
    return;
  }
  res.writeHead(404, { "content-length": 0 }).end();
});

server.listen(port, host, () => console.log(`floor listening on http://${host}:${port}`));

// Exit cleanly when the orchestrator stops us (or closes our stdin because it went away).
const stop = () => {
  for (const s of streams) s.destroy();
  server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
