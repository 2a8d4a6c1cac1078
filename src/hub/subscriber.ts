import type { FrameJoins } from "./frame-joins.js";
import type { Group, Selector } from "./hub.js";
import type { Holder, QueueBudget } from "./queue-budget.js";
import { chunkHead, CRLF, httpChunk } from "./sse-frame.js";
import type { Sink } from "./sink.js";

/**
 * Frames up to this size are chunk-framed as one copy (one buffer per write
 * is cheaper to hand to the socket); larger ones as the frame itself between
 * a size line and CRLF, so a large event is not held twice.
 */
const COPY_CHUNK_MAX = 8 * 1024;

/**
 * An event's frame, encoded once and shared by every subscriber it goes to.
 * Its HTTP/1.1 chunk framing is made on first use and shared the same way.
 */
export class EncodedFrame {
  #chunked: Buffer[] | null = null;
  constructor(readonly bytes: Buffer) {}
  get chunked(): readonly Buffer[] {
    return (this.#chunked ??= this.bytes.length <= COPY_CHUNK_MAX ? [httpChunk(this.bytes)] : [chunkHead(this.bytes.length), this.bytes, CRLF]);
  }
}

export type SubscriberState = "catching-up" | "live" | "closed";
/** `revoked`: its access lapsed (key revoked, tenant disabled, session ended); it ends cleanly, like a shutdown. */
export type CloseReason = "client" | "slow" | "shutdown" | "revoked";

/** Reads a stream's missed events from the log, from its cursor until it is live again (the stream's owner). */
export interface Replayer {
  catchUp(): void;
}

/** Where a subscriber is registered (the hub): told once when it closes. */
export interface SubscriberOwner {
  detach(sub: Subscriber, group: Group, reason: CloseReason): void;
}

const NO_REPLAYER: Replayer = { catchUp() {} };

/**
 * One open stream. While catching up it reads from the log and ignores live
 * publishes (it will read them from the log); once live, frames queue in
 * `#pending` and are written together once per turn of the event loop, so a
 * burst of events costs one syscall per connection instead of one each.
 * Queued frames are the shared buffers themselves, handed to the socket as
 * one gathered write: nothing is copied per subscriber.
 *
 * Falling behind is answered by reading from the log, never by queueing
 * more: a stream that holds its share (`maxBuffer`), or finds the hub's
 * global bound reached, drops its queue and goes back to catching up, which
 * paces itself to the socket. Only a stream that stops draining is cut as
 * slow (by the catch-up's stall timer, the hub's stall sweep, or the budget
 * when memory is needed); it resumes from the log when it comes back.
 *
 * An idle stream is mostly this object, so it holds references to shared
 * things (its group, the hub, the budget) rather than closures of its own:
 * thousands of idle streams are what a server holds most of.
 */
export class Subscriber implements Holder {
  state: SubscriberState = "catching-up";
  /** The position this subscriber has been sent everything through. */
  cursor: number;
  /** Set on every write; the heartbeat only writes to streams that were quiet. */
  wrote = false;
  /** Set by the stream's owner: reads from the log from `cursor` until live again. */
  replayer: Replayer = NO_REPLAYER;
  /** Bytes this stream holds, as counted by the budget: queued frames, the socket's unsent bytes, reserved pages. */
  queuedBytes = 0;
  /** Bytes the socket has not taken, as last sampled. */
  unsentBytes = 0;
  /** When the socket last took bytes, or started holding unsent ones (the budget's clock). */
  heldSince = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #reserved = 0;
  /** The cursor before the queued frames: where to resume if the queue is dropped. */
  #queuedFrom = 0;
  #drainWaiter: { threshold: number; resolve: (drained: boolean) => void } | null = null;
  #owner: SubscriberOwner | null;

  constructor(
    readonly sink: Sink,
    /** The group it is registered in: its selector is the stream's (equal keys, equal behaviour). */
    readonly group: Group,
    cursor: number,
    readonly maxBuffer: number,
    readonly budget: QueueBudget,
    owner: SubscriberOwner,
  ) {
    this.cursor = cursor;
    this.#owner = owner;
  }

  /** Null for admin streams across every tenant. */
  get tenant(): string | null {
    return this.group.selector.tenant;
  }

  get selector(): Selector {
    return this.group.selector;
  }

  /** Bytes of live frames queued for the next flush. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Queues a live frame; returns true when this subscriber just became dirty and needs a flush. */
  enqueue(frame: EncodedFrame, id: number): boolean {
    if (this.state !== "live" || id <= this.cursor) return false;
    const bytes = frame.bytes.length;
    if (this.queuedBytes + bytes > this.maxBuffer || !this.budget.fits(bytes)) {
      this.#fallBack();
      return false;
    }
    const wasEmpty = this.#pending.length === 0;
    if (wasEmpty) this.#queuedFrom = this.cursor;
    this.cursor = id;
    this.#pendingBytes += bytes;
    this.#account(this.queuedBytes + bytes);
    if (this.sink.chunked) this.#pending.push(...frame.chunked);
    else this.#pending.push(frame.bytes);
    return wasEmpty;
  }

  #fallBack(): void {
    if (this.#pending.length > 0) this.cursor = this.#queuedFrom;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#sample();
    this.state = "catching-up";
    // Not from inside the publish loop: the log read starts on the next turn.
    setImmediate(() => this.replayer.catchUp());
  }

  /**
   * Writes everything queued, in one write: several small frames as one
   * buffer that `joins` shares with the other streams queueing the same
   * frames, larger queues as one gathered write. Returns how many bytes
   * that was.
   */
  flush(joins: FrameJoins): number {
    if (this.#pending.length === 0 || this.state === "closed") return 0;
    const chunks = this.#pending;
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.wrote = true;
    this.sink.write(joins.write(chunks, bytes), this.#written);
    this.#sample();
    return bytes;
  }

  /**
   * Writes at once, bypassing the queue: control frames (retry, reset,
   * prologue, heartbeat).
   */
  writeNow(frame: string | EncodedFrame): void {
    if (this.state === "closed") return;
    this.wrote = true;
    if (frame instanceof EncodedFrame) {
      this.sink.write(this.sink.chunked ? frame.chunked : [frame.bytes], this.#written);
    } else {
      const body = Buffer.from(frame);
      // Chunk framing as separate buffers in one gathered write: no second copy of the page.
      this.sink.write(this.sink.chunked ? [chunkHead(body.length), body, CRLF] : [body], this.#written);
    }
    this.#sample();
  }

  /**
   * Writes a catch-up page, given as buffers of `bytes` in all, as one
   * chunk, releasing the page's reservation (see `reserve`). `written` is
   * called once the socket no longer needs the buffers (taken, failed, or
   * never written because the stream has closed).
   */
  writePage(chunks: Buffer[], bytes: number, written?: () => void): void {
    if (this.state === "closed") {
      written?.();
      return;
    }
    this.wrote = true;
    this.#reserved = 0;
    const framed = this.sink.chunked ? [chunkHead(bytes), ...chunks, CRLF] : chunks;
    this.sink.write(framed, written ? () => (written(), this.#written()) : this.#written);
    this.#sample();
  }

  /**
   * Reserves room in the global budget (or in its `share`) for a catch-up
   * page of up to `bytes` before reading it; false (nothing reserved) when it
   * does not fit. `writePage` releases it.
   */
  reserve(bytes: number, share = 1): boolean {
    if (this.state === "closed" || !this.budget.fits(bytes, share)) return false;
    this.#reserved += bytes;
    this.#account(this.queuedBytes + bytes);
    return true;
  }

  /** Gives back a reservation that will not be written (the replay stopped). */
  unreserve(): void {
    this.#reserved = 0;
    this.#sample();
  }

  /**
   * Resolves true once the sink's unsent bytes are at most `threshold` (at
   * once when they already are, or when the stream closes), or false if they
   * have not drained in `timeoutMs`.
   */
  drained(threshold: number, timeoutMs: number): Promise<boolean> {
    if (this.state === "closed" || this.sink.buffered() <= threshold) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#drainWaiter = null;
        resolve(false);
      }, timeoutMs);
      this.#drainWaiter = {
        threshold,
        resolve: (drained) => {
          clearTimeout(timer);
          this.#drainWaiter = null;
          resolve(drained);
        },
      };
    });
  }

  /** Cut by the budget: it holds memory others need and has not drained for a while. */
  cutForMemory(): void {
    this.close("slow");
  }

  close(reason: CloseReason): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#reserved = 0;
    this.#account(0);
    if (reason === "slow") this.sink.destroy();
    else if (reason === "shutdown" || reason === "revoked") this.sink.end();
    this.#drainWaiter?.resolve(true);
    const owner = this.#owner;
    this.#owner = null;
    owner?.detach(this, this.group, reason);
  }

  /** Called when a write has reached the kernel: progress, and what the socket still holds has changed. */
  #written = (): void => {
    if (this.state === "closed") return;
    this.heldSince = this.budget.now();
    this.#sample();
    const waiter = this.#drainWaiter;
    if (waiter && this.sink.buffered() <= waiter.threshold) waiter.resolve(true);
  };

  #sample(): void {
    if (this.state === "closed") return;
    const unsent = this.sink.buffered();
    if (unsent > 0 && this.unsentBytes === 0) this.heldSince = this.budget.now();
    this.unsentBytes = unsent;
    this.#account(this.#pendingBytes + this.#reserved + unsent);
  }

  #account(bytes: number): void {
    const before = this.queuedBytes;
    if (bytes === before) return;
    this.queuedBytes = bytes;
    this.budget.adjust(this, before, bytes);
  }
}
