/**
 * A keep-alive HTTP/1.1 client on one raw socket, one request at a time.
 * node:http's Agent costs several times more CPU per request than this,
 * and the load client shares two cores with the server it measures.
 */
import net from "node:net";
import { ResponseParser } from "./http-response.js";

export interface Endpoint {
  host: string;
  port: number;
}

export interface Reply {
  status: number;
  body: Buffer;
}

export class HttpConnection {
  readonly #endpoint: Endpoint;
  #socket: net.Socket | null = null;
  #parser: ResponseParser | null = null;
  #pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  #status = 0;
  #body: Buffer[] = [];
  #keepAlive = true;

  constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint;
  }

  /** Sends one complete request (head and body bytes) and resolves with the response. */
  async request(bytes: Buffer | string): Promise<Reply> {
    if (this.#pending) throw new Error("request already in flight on this connection");
    if (!this.#socket) await this.#connect();
    return new Promise<Reply>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket!.write(bytes);
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }

  #connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.#endpoint.host, port: this.#endpoint.port, noDelay: true });
      const parser = new ResponseParser({
        onHead: (head) => {
          this.#status = head.status;
          this.#body = [];
          this.#keepAlive = !/\bclose\b/i.test(head.headers.get("connection") ?? "");
        },
        onBody: (bytes) => this.#body.push(Buffer.from(bytes)),
        onEnd: () => {
          const p = this.#pending;
          this.#pending = null;
          const reply = { status: this.#status, body: Buffer.concat(this.#body) };
          if (!this.#keepAlive) this.close();
          p?.resolve(reply);
        },
      });
      socket.once("connect", () => {
        this.#socket = socket;
        this.#parser = parser;
        resolve();
      });
      socket.on("data", (chunk) => {
        try {
          this.#parser?.feed(chunk);
        } catch (err) {
          this.#fail(err as Error);
        }
      });
      socket.on("error", (err) => {
        if (this.#socket !== socket) reject(err);
        else this.#fail(err);
      });
      socket.on("close", () => {
        if (this.#socket === socket) this.#fail(new Error("connection closed by server"));
      });
    });
  }

  #fail(err: Error): void {
    this.#socket?.destroy();
    this.#socket = null;
    this.#parser = null;
    const p = this.#pending;
    this.#pending = null;
    p?.reject(err);
  }
}

/** The request head for a POST; the body follows it in the same write. */
export function postHead(endpoint: Endpoint, path: string, headers: Record<string, string>, contentType: string, bodyBytes: number): string {
  let head = `POST ${path} HTTP/1.1\r\nHost: ${endpoint.host}:${endpoint.port}\r\nContent-Type: ${contentType}\r\nContent-Length: ${bodyBytes}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  return head + "\r\n";
}

/** A whole POST request as one buffer, for bodies built once and sent many times. */
export function postRequest(endpoint: Endpoint, path: string, headers: Record<string, string>, contentType: string, body: string): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from(postHead(endpoint, path, headers, contentType, b.length), "latin1"), b]);
}
