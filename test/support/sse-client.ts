import { request, type IncomingMessage } from "node:http";
import type { ClientHttp2Session } from "node:http2";
import { request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * A raw SSE client over node:http (or an HTTP/2 session), parsing frames
 * exactly as the spec says (fields, multi-line data, comments ignored). It
 * records every message so tests can wait for and assert on them.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: IncomingMessage["headers"] = {};
  closed = false;
  /** Set when the body reached its end: the server ended the stream cleanly (not a reset or a cut). */
  ended = false;
  retry: number | undefined;
  #body: Readable | undefined;
  #stop: () => void = () => {};
  #buffer = "";
  #waiters: (() => void)[] = [];

  /** The response's HTTP version: "1.1", or "2.0" over HTTP/2. */
  httpVersion = "";

  /**
   * Connects and resolves once the response headers have arrived. An https
   * URL connects over TLS, trusting `ca`, without offering HTTP/2 (as clients
   * that do not speak it).
   */
  static open(url: string, headers: Record<string, string> = {}, tls: { ca?: Buffer } = {}): Promise<SseClient> {
    const client = new SseClient();
    const options = { headers: { accept: "text/event-stream", ...headers } };
    const req = url.startsWith("https:") ? httpsRequest(url, { ...options, ca: tls.ca }) : request(url, options);
    client.#stop = () => req.destroy();
    req.end();
    return new Promise((resolve, reject) => {
      req.once("error", reject);
      req.on("error", () => client.#close());
      req.once("response", (res) => {
        client.status = res.statusCode ?? 0;
        client.headers = res.headers;
        client.httpVersion = res.httpVersion;
        client.#read(res);
        resolve(client);
      });
    });
  }

  /** The same over an HTTP/2 connection: one stream of `session`, which other requests may share. */
  static openHttp2(session: ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    const req = session.request({ ":path": path, accept: "text/event-stream", ...headers });
    client.#stop = () => req.close();
    return new Promise((resolve, reject) => {
      req.once("error", reject);
      req.on("error", () => client.#close());
      req.once("response", (head) => {
        client.status = Number(head[":status"]);
        client.httpVersion = "2.0";
        client.headers = head as IncomingMessage["headers"];
        client.#read(req);
        resolve(client);
      });
    });
  }

  #read(body: Readable): void {
    this.#body = body;
    body.setEncoding("utf8");
    body.on("data", (chunk: string) => this.#feed(chunk));
    body.on("end", () => (this.ended = true));
    body.on("close", () => this.#close());
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
    this.#body?.pause();
  }

  /** Reads again after `pause`. */
  resume(): void {
    this.#body?.resume();
  }

  close(): void {
    this.#stop();
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
