import { httpChunk } from "./sse-frame.js";
import type { Sink } from "./sink.js";

/**
 * An event's frame, encoded once and shared by every subscriber it goes to.
 * The chunk-framed copy is made on first use and shared the same way.
 */
export class EncodedFrame {
  #chunked: Buffer | null = null;
  constructor(readonly bytes: Buffer) {}
  get chunked(): Buffer {
    return (this.#chunked ??= httpChunk(this.bytes));
  }
}

export type SubscriberState = "catching-up" | "live" | "closed";
export type CloseReason = "client" | "slow" | "shutdown";

/**
 * One open stream. While catching up it reads from the log and ignores live
 * publishes (it will read them from the log); once live, frames queue in
 * `#pending` and are written in one call per turn of the event loop, so a
 * burst of events costs one syscall per connection instead of one each.
 */
export class Subscriber {
  state: SubscriberState = "catching-up";
  /** The position this subscriber has been sent everything through. */
  cursor: number;
  /** Set on every write; the heartbeat only writes to streams that were quiet. */
  wrote = false;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #onClose: ((reason: CloseReason) => void) | null;

  constructor(
    readonly sink: Sink,
    /** Null for admin streams across every tenant. */
    readonly tenant: string | null,
    cursor: number,
    readonly maxBuffer: number,
    onClose: (reason: CloseReason) => void,
  ) {
    this.cursor = cursor;
    this.#onClose = onClose;
  }

  /** Queues a live frame; returns true when this subscriber just became dirty and needs a flush. */
  enqueue(frame: EncodedFrame, id: number): boolean {
    if (this.state !== "live" || id <= this.cursor) return false;
    this.cursor = id;
    const bytes = this.sink.chunked ? frame.chunked : frame.bytes;
    if (this.sink.buffered() + this.#pendingBytes + bytes.length > this.maxBuffer) {
      this.close("slow");
      return false;
    }
    this.#pendingBytes += bytes.length;
    return this.#pending.push(bytes) === 1;
  }

  /** Writes everything queued, in one call. */
  flush(): void {
    const n = this.#pending.length;
    if (n === 0 || this.state === "closed") return;
    const bytes = n === 1 ? this.#pending[0] : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.wrote = true;
    this.sink.write(bytes);
  }

  /** Writes at once, bypassing the queue (catch-up pages, control frames). */
  writeNow(text: string): void {
    if (this.state === "closed") return;
    const bytes = Buffer.from(text);
    this.wrote = true;
    this.sink.write(this.sink.chunked ? httpChunk(bytes) : bytes);
  }

  /** Resolves once the sink's buffer has drained (or at once when it is small). */
  drained(threshold: number): Promise<void> {
    if (this.state === "closed" || this.sink.buffered() <= threshold) return Promise.resolve();
    return new Promise((resolve) => this.sink.onceDrained(resolve));
  }

  close(reason: CloseReason): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.#pending = [];
    this.#pendingBytes = 0;
    if (reason === "slow") this.sink.destroy();
    else if (reason === "shutdown") this.sink.end();
    const onClose = this.#onClose;
    this.#onClose = null;
    onClose?.(reason);
  }
}
