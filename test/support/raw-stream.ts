import { connect, type Socket } from "node:net";

/**
 * An SSE request over a bare TCP socket, for what a parsing client hides:
 * the exact bytes on the wire, and a consumer that stops reading at the
 * socket level (no user-space buffering beyond Node's small high-water mark).
 */
export class RawStream {
  readonly socket: Socket;
  /** Everything received so far (status line, headers, chunked body), as latin1 so byte offsets are kept. */
  raw = "";
  /** Set when the peer closed: "end" for a FIN, or the socket error (ECONNRESET…). */
  closedBy: "end" | Error | null = null;
  readonly closed: Promise<void>;

  private constructor(url: string, path: string, headers: Record<string, string>, paused: boolean) {
    const { hostname, port } = new URL(url);
    this.socket = connect({ host: hostname, port: Number(port) });
    const head = [`GET ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, "Accept: text/event-stream", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    this.socket.write(head.join("\r\n") + "\r\n\r\n");
    this.socket.setEncoding("latin1");
    if (paused) this.socket.pause();
    this.socket.on("data", (s: string) => (this.raw += s));
    this.closed = new Promise((resolve) => {
      this.socket.once("end", () => {
        this.closedBy ??= "end";
        resolve();
      });
      this.socket.once("error", (err) => {
        this.closedBy ??= err;
        resolve();
      });
      this.socket.once("close", () => resolve());
    });
  }

  /** A stream that reads everything as it arrives. */
  static open(url: string, path: string, headers: Record<string, string> = {}): RawStream {
    return new RawStream(url, path, headers, false);
  }

  /** A stream that sends its request and never reads (until `resume`). */
  static stalled(url: string, path: string, headers: Record<string, string> = {}): RawStream {
    return new RawStream(url, path, headers, true);
  }

  resume(): void {
    this.socket.resume();
  }

  /** The response body with its HTTP/1.1 chunk framing removed; `complete` when the terminating zero-length chunk arrived. */
  body(): { text: string; complete: boolean } {
    const start = this.raw.indexOf("\r\n\r\n");
    if (start === -1) return { text: "", complete: false };
    let at = start + 4;
    let text = "";
    for (;;) {
      const eol = this.raw.indexOf("\r\n", at);
      if (eol === -1) return { text, complete: false };
      const size = parseInt(this.raw.slice(at, eol), 16);
      if (Number.isNaN(size)) throw new Error(`bad chunk size at byte ${at}: ${JSON.stringify(this.raw.slice(at, at + 20))}`);
      if (size === 0) return { text: Buffer.from(text, "latin1").toString("utf8"), complete: this.raw.startsWith("\r\n", eol + 2) };
      if (this.raw.length < eol + 2 + size + 2) return { text: Buffer.from(text, "latin1").toString("utf8"), complete: false };
      text += this.raw.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
  }

  /** The status line and headers. */
  head(): string {
    const end = this.raw.indexOf("\r\n\r\n");
    return end === -1 ? this.raw : this.raw.slice(0, end);
  }

  /** The `id:` of every complete event frame in the body (frames cut off by a disconnect are skipped). */
  ids(): number[] {
    const { text } = this.body();
    const ids: number[] = [];
    for (const block of text.split("\n\n").slice(0, -1)) {
      const m = /^id: (\d+)$/m.exec(block);
      if (m && !/^event: reset$/m.test(block)) ids.push(Number(m[1]));
    }
    return ids;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
