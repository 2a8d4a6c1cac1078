/**
 * A streaming HTTP/1.1 response parser for raw sockets: status line,
 * headers, then a body framed by Content-Length, chunked transfer encoding
 * or connection close. Both servers stream SSE with chunked encoding, and a
 * chunk boundary can fall anywhere (inside a frame, inside a chunk-size
 * line), so de-chunking properly is the only way to count frames correctly.
 */

export interface ResponseHead {
  status: number;
  /** Lower-cased names. */
  headers: Map<string, string>;
}

export interface ResponseHandlers {
  onHead(head: ResponseHead): void;
  /** De-chunked body bytes, in order. The buffer is only valid during the call. */
  onBody(bytes: Buffer): void;
  /** The message is complete (a keep-alive connection may carry the next one). */
  onEnd(): void;
}

type State = "head" | "size" | "data" | "data-crlf" | "trailer" | "length" | "close";

const HEAD_END = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
/** A response head larger than this is a protocol error, not something to buffer forever. */
const MAX_HEAD = 64 * 1024;

export class ResponseParser {
  readonly #on: ResponseHandlers;
  #state: State = "head";
  #head: Buffer = EMPTY;
  #line = "";
  #remaining = 0;

  constructor(handlers: ResponseHandlers) {
    this.#on = handlers;
  }

  /** True while the body is being read with no length (ends at close). */
  get readsUntilClose(): boolean {
    return this.#state === "close";
  }

  feed(buf: Buffer): void {
    let i = 0;
    const len = buf.length;
    while (i < len) {
      switch (this.#state) {
        case "head": {
          const prev = this.#head.length;
          const data = prev ? Buffer.concat([this.#head, buf.subarray(i)]) : buf.subarray(i);
          const end = data.indexOf(HEAD_END);
          if (end < 0) {
            if (data.length > MAX_HEAD) throw new Error("response head too large");
            this.#head = Buffer.from(data);
            return;
          }
          this.#head = EMPTY;
          i += end + 4 - prev;
          this.#startBody(data.toString("latin1", 0, end));
          break;
        }
        case "size":
        case "trailer": {
          const nl = buf.indexOf(10, i);
          if (nl < 0) {
            this.#line += buf.toString("latin1", i);
            if (this.#line.length > 1024) throw new Error("chunk-size line too long");
            return;
          }
          const line = (this.#line + buf.toString("latin1", i, nl)).replace(/\r$/, "");
          this.#line = "";
          i = nl + 1;
          if (this.#state === "trailer") {
            if (line === "") this.#finish();
            break;
          }
          // parseInt stops at a chunk extension (";name=value").
          const size = parseInt(line, 16);
          if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
          if (size === 0) this.#state = "trailer";
          else {
            this.#remaining = size;
            this.#state = "data";
          }
          break;
        }
        case "data":
        case "length": {
          const n = Math.min(this.#remaining, len - i);
          this.#on.onBody(buf.subarray(i, i + n));
          i += n;
          this.#remaining -= n;
          if (this.#remaining === 0) {
            if (this.#state === "length") this.#finish();
            else {
              this.#state = "data-crlf";
              this.#remaining = 2;
            }
          }
          break;
        }
        case "data-crlf": {
          const n = Math.min(this.#remaining, len - i);
          i += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = "size";
          break;
        }
        case "close": {
          this.#on.onBody(buf.subarray(i));
          return;
        }
      }
    }
  }

  #startBody(headText: string): void {
    const lines = headText.split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (let k = 1; k < lines.length; k++) {
      const c = lines[k].indexOf(":");
      if (c > 0) headers.set(lines[k].slice(0, c).trim().toLowerCase(), lines[k].slice(c + 1).trim());
    }
    // An interim response (100 Continue) is followed by the real one.
    if (status >= 100 && status < 200) return;
    this.#on.onHead({ status, headers });
    if (/\bchunked\b/i.test(headers.get("transfer-encoding") ?? "")) {
      this.#state = "size";
    } else if (headers.has("content-length")) {
      this.#remaining = Number(headers.get("content-length"));
      if (this.#remaining > 0) this.#state = "length";
      else this.#finish();
    } else if (status === 204 || status === 304) {
      this.#finish();
    } else {
      this.#state = "close";
    }
  }

  #finish(): void {
    this.#state = "head";
    this.#on.onEnd();
  }
}
