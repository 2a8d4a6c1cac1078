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
 *
 * Two ways to fall behind, two answers. A socket that stops draining (its
 * unsent bytes pass `maxBuffer`) is a slow consumer and is disconnected; it
 * resumes from the log when it comes back. A burst larger than `maxBuffer`
 * within one turn, to a socket that drains fine, drops its queue and goes
 * back to catching up from the log, which paces itself to the socket.
 */
export class Subscriber {
  state: SubscriberState = "catching-up";
  /** The position this subscriber has been sent everything through. */
  cursor: number;
  /** Set on every write; the heartbeat only writes to streams that were quiet. */
  wrote = false;
  /** Set by the stream's owner: reads from the log from `cursor` until live again. */
  catchUp: () => void = () => {};
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The cursor before the queued frames: where to resume if the queue is dropped. */
  #queuedFrom = 0;
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
    const bytes = this.sink.chunked ? frame.chunked : frame.bytes;
    if (this.sink.buffered() > this.maxBuffer) {
      this.close("slow");
      return false;
    }
    if (this.#pendingBytes + bytes.length > this.maxBuffer) {
      this.#fallBack();
      return false;
    }
    if (this.#pending.length === 0) this.#queuedFrom = this.cursor;
    this.cursor = id;
    this.#pendingBytes += bytes.length;
    return this.#pending.push(bytes) === 1;
  }

  #fallBack(): void {
    if (this.#pending.length > 0) this.cursor = this.#queuedFrom;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.state = "catching-up";
    // Not from inside the publish loop: the log read starts on the next turn.
    setImmediate(() => this.catchUp());
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

  /**
   * Resolves true once the sink's buffer is at most `threshold` bytes (at
   * once when it already is), or false if it has not drained in `timeoutMs`.
   */
  drained(threshold: number, timeoutMs: number): Promise<boolean> {
    if (this.state === "closed" || this.sink.buffered() <= threshold) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.sink.onceDrained(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
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
