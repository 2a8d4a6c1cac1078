import { request, type ClientRequest, type IncomingMessage } from "node:http";

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * A raw SSE client over node:http, parsing frames exactly as the spec says
 * (fields, multi-line data, comments ignored). It records every message so
 * tests can wait for and assert on them.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: IncomingMessage["headers"] = {};
  closed = false;
  retry: number | undefined;
  #req: ClientRequest;
  #res: IncomingMessage | undefined;
  #buffer = "";
  #waiters: (() => void)[] = [];

  private constructor(url: string, headers: Record<string, string>) {
    this.#req = request(url, { headers: { accept: "text/event-stream", ...headers } });
    this.#req.on("error", () => this.#close());
    this.#req.end();
  }

  /** Connects and resolves once the response headers have arrived. */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient(url, headers);
    return new Promise((resolve, reject) => {
      client.#req.once("error", reject);
      client.#req.once("response", (res) => {
        client.#res = res;
        client.status = res.statusCode ?? 0;
        client.headers = res.headers;
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => client.#feed(chunk));
        res.on("close", () => client.#close());
        resolve(client);
      });
    });
  }

  /** Event ids received, as numbers. */
  ids(): number[] {
    return this.messages.filter((m) => m.id !== undefined && m.event !== "reset").map((m) => Number(m.id));
  }

  /** Resolves when `predicate` holds, or rejects after `timeoutMs`. */
  until(predicate: (c: SseClient) => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${this.messages.length} messages, ids ${this.ids().slice(-5)}`)), timeoutMs);
      const check = () => {
        if (predicate(this)) {
          clearTimeout(timer);
          resolve();
        } else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  /** Stops reading without closing: the server sees a stalled consumer. */
  pause(): void {
    this.#res?.pause();
  }

  close(): void {
    this.#req.destroy();
    this.#close();
  }

  #feed(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.search(/\r\n\r\n|\n\n|\r\r/)) !== -1) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + (this.#buffer.startsWith("\r\n\r\n", end) ? 4 : 2));
      this.#parse(block);
    }
    this.#notify();
  }

  #parse(block: string): void {
    const data: string[] = [];
    const message: SseMessage = { data: "" };
    let hasData = false;
    for (const line of block.split(/\r\n|\r|\n/)) {
      if (line.startsWith(":")) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") {
        data.push(value);
        hasData = true;
      } else if (field === "id") message.id = value;
      else if (field === "event") message.event = value;
      else if (field === "retry") this.retry = Number(value);
    }
    if (!hasData) return;
    message.data = data.join("\n");
    this.messages.push(message);
  }

  #close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#notify();
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
