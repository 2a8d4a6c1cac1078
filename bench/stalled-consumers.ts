/**
 * Stalled consumers: SSE streams that read their response head and then
 * never read again, like a client whose process hangs or whose network
 * stopped. Once the kernel's socket buffers on both sides are full, every
 * byte the server still wants to send them has to wait in the server's
 * memory: this is what the server's per-stream and global output bounds are
 * for. The sockets are only closed on command, as a hung client would be
 * closed by its operator.
 */
import net from "node:net";
import type { Command, StallResult } from "./protocol.js";

const HEAD_END = "\r\n\r\n";

const stalled: net.Socket[] = [];

/** Opens `count` streams with at most `concurrency` connects in flight; each stops reading after a 200 head. */
export async function stall(cmd: Extract<Command, { op: "stall" }>): Promise<StallResult> {
  const out: StallResult = { opened: 0, failed: 0, failures: [] };
  let next = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host: cmd.target.host, port: cmd.target.port, noDelay: true });
      stalled.push(socket);
      let head = "";
      let settled = false;
      const settle = (why: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (why === null) out.opened++;
        else {
          out.failed++;
          if (out.failures.length < 5) out.failures.push(why);
          socket.destroy();
        }
        resolve();
      };
      const timer = setTimeout(() => settle(`no response head within ${cmd.timeoutMs} ms`), cmd.timeoutMs);
      const onData = (chunk: Buffer) => {
        head += chunk.toString("latin1");
        if (!head.includes(HEAD_END)) return;
        socket.off("data", onData);
        // From here on nothing is read: paused, the socket stops pulling bytes from the kernel.
        socket.pause();
        if (head.startsWith("HTTP/1.1 200")) settle(null);
        else settle(head.split("\r\n", 1)[0]);
      };
      socket.on("data", onData);
      socket.on("error", (err) => settle(`socket error: ${err.message}`));
      socket.on("close", () => settle("closed before the response head"));
      let req = `GET ${cmd.target.path} HTTP/1.1\r\nHost: ${cmd.target.host}:${cmd.target.port}\r\nAccept: text/event-stream\r\n`;
      for (const [k, v] of Object.entries(cmd.target.headers)) req += `${k}: ${v}\r\n`;
      socket.write(req + "\r\n", "latin1");
    });
  const lane = async () => {
    while (next < cmd.count) {
      next++;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(cmd.concurrency, cmd.count) }, lane));
  return out;
}

/** Closes every stalled socket of this worker; returns how many there were. */
export function unstall(): number {
  const n = stalled.length;
  for (const s of stalled.splice(0)) s.destroy();
  return n;
}
