import { Worker } from "node:worker_threads";

/**
 * The reader thread: a raw HTTP/1.1 SSE request that reads as fast as the
 * socket delivers and counts event frames (`id:` lines) into shared memory.
 * Plain JavaScript, because worker threads load it without the test's
 * TypeScript transform.
 */
const READER_SOURCE = `
const { workerData } = require("node:worker_threads");
const net = require("node:net");
const { host, port, path, headers, counter } = workerData;
const count = new Int32Array(counter);
const socket = net.connect({ host, port });
socket.write([\`GET \${path} HTTP/1.1\`, \`Host: \${host}:\${port}\`, "Accept: text/event-stream", ...headers].join("\\r\\n") + "\\r\\n\\r\\n");
let carry = "";
socket.on("data", (bytes) => {
  const text = carry + bytes.toString("latin1");
  let n = 0;
  for (let at = text.indexOf("\\nid: "); at !== -1; at = text.indexOf("\\nid: ", at + 1)) n++;
  // Keep a tail so a marker split across reads is counted once, in the next read.
  carry = text.slice(-5);
  n -= (carry.match(/\\nid: /g) || []).length;
  Atomics.add(count, 0, n);
});
socket.on("close", () => Atomics.store(count, 1, 1));
socket.on("error", () => {});
`;

/**
 * An SSE client on its own thread, with its own event loop: it keeps
 * reading at full speed even while the server's loop (in the test's thread)
 * is busy, like a fast client on another machine. `received()` reads its
 * count synchronously, so a test can tell exactly how far it had got at
 * the moment something else happened.
 */
export class FastReader {
  readonly #worker: Worker;
  readonly #count: Int32Array;

  private constructor(worker: Worker, count: Int32Array) {
    this.#worker = worker;
    this.#count = count;
  }

  /** Opens `path` on the server (headers as `Name: value` pairs). */
  static open(url: string, path: string, headers: Record<string, string> = {}): FastReader {
    const { hostname, port } = new URL(url);
    const counter = new SharedArrayBuffer(8);
    const worker = new Worker(READER_SOURCE, {
      eval: true,
      workerData: { host: hostname, port: Number(port), path, headers: Object.entries(headers).map(([k, v]) => `${k}: ${v}`), counter },
    });
    return new FastReader(worker, new Int32Array(counter));
  }

  /** Event frames received so far (frames with an `id:` line, the reset included). */
  received(): number {
    return Atomics.load(this.#count, 0);
  }

  /** Whether the connection has closed. */
  closed(): boolean {
    return Atomics.load(this.#count, 1) === 1;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
