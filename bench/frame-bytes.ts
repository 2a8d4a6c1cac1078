/**
 * Bytes of one fan-out frame as a server writes it: the SSE text of a tick
 * of the publisher's, from `id:` to the blank line, without HTTP chunk
 * framing. nchan frames an event in fewer bytes than ours, so its ticks are
 * padded until both write the same; measured, not assumed, so a change in
 * our envelope is followed.
 */
import net from "node:net";
import { ResponseParser } from "./http-response.js";
import { tickDataBytes, tickJson } from "./publisher.js";
import type { HttpTarget } from "./protocol.js";
import type { Target } from "./servers.js";

/** Opens one stream, publishes ticks (one a second, until one arrives) and measures the first event frame. */
export function frameBytes(target: Target, timeoutMs = 10_000): Promise<{ frame: number; body: number }> {
  return new Promise((resolve, reject) => {
    let text = "";
    let status = 0;
    let body = 0;
    let ticker: NodeJS.Timeout | undefined;
    const finish = (err: Error | null, frame = 0) => {
      clearTimeout(timer);
      clearInterval(ticker);
      socket.destroy();
      if (err) reject(new Error(`${target.name}: ${err.message}`));
      else resolve({ frame, body });
    };
    const publishOne = () => {
      const json = tickJson(1, performance.timeOrigin + performance.now(), tickDataBytes(target.publish.padTicksTo ?? 0));
      body = Buffer.byteLength(json);
      post(target.publish, json).catch((err: Error) => finish(err));
    };
    const parser = new ResponseParser({
      onHead: (h) => {
        status = h.status;
        if (status !== 200) return finish(new Error(`stream answered ${status}`));
        publishOne();
        ticker = setInterval(publishOne, 1000);
      },
      onBody: (bytes) => {
        text += bytes.toString("latin1");
        for (let start = 0, end = text.indexOf("\n\n"); end >= 0; start = end + 2, end = text.indexOf("\n\n", start)) {
          if (text.startsWith("id:", start)) return finish(null, end + 2 - start);
        }
      },
      onEnd: () => finish(new Error("stream ended before an event")),
    });
    const socket = net.connect({ host: target.stream.host, port: target.stream.port });
    socket.on("data", (b) => {
      try {
        parser.feed(b);
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.on("error", (err) => finish(err));
    let head = `GET ${target.stream.path} HTTP/1.1\r\nHost: ${target.stream.host}:${target.stream.port}\r\nAccept: text/event-stream\r\n`;
    for (const [k, v] of Object.entries(target.stream.headers)) head += `${k}: ${v}\r\n`;
    socket.write(head + "\r\n", "latin1");
    const timer = setTimeout(() => finish(new Error(`no event frame within ${timeoutMs} ms`)), timeoutMs);
  });
}

async function post(t: HttpTarget, json: string): Promise<void> {
  const res = await fetch(`http://${t.host}:${t.port}${t.path}`, {
    method: "POST",
    headers: { ...t.headers, "content-type": "application/json" },
    body: json,
    signal: AbortSignal.timeout(5000),
  });
  await res.arrayBuffer();
  if (res.status < 200 || res.status >= 300) throw new Error(`publish answered ${res.status}`);
}
