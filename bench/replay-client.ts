/**
 * One client resuming from a Last-Event-ID, timed from connect() until the
 * frame carrying the last expected id: the catch-up replay figure.
 */
import net from "node:net";
import { ResponseParser } from "./http-response.js";
import type { Command, ReplayResult } from "./protocol.js";
import { READ_BUFFER } from "./sse-subscribers.js";

export function replay(cmd: Extract<Command, { op: "replay" }>): Promise<ReplayResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const out: ReplayResult = { events: 0, lastId: 0, elapsedMs: 0, headMs: 0, bytes: 0, timedOut: false, error: null };
    let carry = "";
    /** The last few hundred bytes read. */
    let tail = "";
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
        tail = text.length >= 300 ? text : tail.slice(-300) + text;
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
      // What the server said last (a final frame naming why, say) goes in the report.
      onEnd: () => finish(`stream ended before the last event; it ended with ${JSON.stringify(tail.slice(-300))}`),
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
