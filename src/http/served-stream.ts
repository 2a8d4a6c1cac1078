import { catchUp } from "../hub/catch-up.js";
import { readAhead, type ReadAheadReads } from "../hub/read-ahead.js";
import { encodeFrame } from "../hub/sse-frame.js";
import type { Replayer, Subscriber } from "../hub/subscriber.js";
import { END_MESSAGES, type EndReason, type Grant, type Watched } from "./access-watch.js";
import type { StreamDeps } from "./stream-routes.js";

/** Events per catch-up page for batch selectors (console pages), each page one frame. */
const BATCH_PAGE_SIZE = 200;

/** Where a new stream starts, and the reset to send first when its position was unusable. */
export interface StartPoint {
  cursor: number;
  reset: { reason: "stale" | "ahead"; oldest: number | null; head: number } | null;
}

/** The `reset` frame: events between the client's position and `resume` are not in the log (any more). */
export function resetFrame(reset: NonNullable<StartPoint["reset"]>, resume: number): string {
  return encodeFrame({ id: resume, event: "reset", data: JSON.stringify({ ...reset, resume }) });
}

/**
 * The last frame of a stream whose access lapsed. No `id:`, so the client's
 * Last-Event-ID stays where it was; a client that reconnects anyway gets
 * 401 or 403, which ends a standard EventSource for good.
 */
function revokedFrame(reason: EndReason): string {
  return encodeFrame({ event: "revoked", data: JSON.stringify({ reason, message: END_MESSAGES[reason] }) });
}

/**
 * One open SSE stream as its route keeps it: the hub's subscriber, what its
 * access rests on, and how it reads what it missed from the log.
 *
 * A server holds thousands of these while nothing happens, so the stream is
 * one object with a few fields, its behaviours methods on the prototype:
 * it is its own access-watch entry and its subscriber's replayer, and it
 * reads from the log (with read-ahead) only while it is catching up. Its
 * selector is the hub group's, shared by every stream with the same one.
 */
export class ServedStream implements Watched, Replayer {
  /** Set right after the response is taken over (the response's close handler needs the stream first). */
  sub!: Subscriber;
  /** The replay's reads; only while catching up. */
  #reads: ReadAheadReads | null = null;
  #expiry: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly deps: StreamDeps,
    readonly grant: Grant,
    /** Whether its frames are jsonFrame's, so replays may take pages the log's reader threads encoded. */
    readonly framed: boolean,
    /** Whether retention overtaking the replay is told with a `reset` frame. */
    readonly resets: boolean,
    readonly onClose: (() => void) | undefined,
    /** When its credentials expire (ms since the epoch), or null. */
    readonly until: number | null,
  ) {}

  /** Registers with the access watch and arms the expiry; the subscriber is set. */
  start(): void {
    this.deps.access.add(this);
    if (this.until !== null) this.expire();
  }

  /** The client went away (the response closed). */
  closed(): void {
    this.deps.access.remove(this);
    clearTimeout(this.#expiry);
    this.#reads?.release();
    this.#reads = null;
    this.sub?.close("client");
    this.onClose?.();
  }

  /** Its access lapsed (the access watch). */
  end(reason: EndReason): void {
    this.sub.writeNow(revokedFrame(reason));
    this.sub.close("revoked");
  }

  /** Closes the stream once its credentials expire; a timer holds at most about 24.8 days, so a later expiry is rechecked then. */
  expire(): void {
    const left = this.until! - Date.now();
    if (left <= 0) this.sub.close("revoked");
    else this.#expiry = setTimeout(() => this.expire(), Math.min(left, 2 ** 31 - 1));
  }

  /** Reads from the subscriber's cursor until it is live (the subscriber calls it again when it falls behind). */
  catchUp(): void {
    const sub = this.sub;
    const { deps, resets } = this;
    const selector = sub.selector;
    const reads = (this.#reads ??= this.#openReads());
    void catchUp(sub, deps.hub, reads, selector, {
      prunedThrough: (tenant) => deps.log.prunedThrough(tenant),
      ...(resets && { stale: async (resume: number) => resetFrame({ reason: "stale", oldest: await deps.log.oldest(selector.tenant), head: deps.log.head() }, resume) }),
      // A page's frame grows with its events (feed items): fewer per page keeps it within the buffer.
      ...(selector.encodeBatch && { encodeBatch: selector.encodeBatch, pageSize: BATCH_PAGE_SIZE }),
    }).then(
      () => this.#doneReading(reads),
      (err) => {
        deps.logger.error("stream catch-up failed", { error: String(err) });
        sub.close("shutdown");
        this.#doneReading(reads);
      },
    );
  }

  /** Live (or closed): the reads and what they read ahead are let go until the stream falls behind again. */
  #doneReading(reads: ReadAheadReads): void {
    if (this.#reads !== reads || this.sub.state === "catching-up") return;
    reads.release();
    this.#reads = null;
  }

  #openReads(): ReadAheadReads {
    const { deps, sub } = this;
    const selector = sub.selector;
    const query = (after: number, limit: number) => ({ tenant: selector.tenant, after, limit, types: selector.narrow?.types ?? [], subject: selector.narrow?.subject ?? null });
    return readAhead(
      this.framed && deps.log.readFrames !== undefined
        ? (after, limit) => deps.log.readFrames!(query(after, limit))
        : (after, limit) => deps.log.read(query(after, limit)).then((page) => ({ ...page, events: page.events.filter(selector.match) })),
      deps.hub.readAhead,
      () => sub.sink.buffered() < sub.maxBuffer / 4,
      () => deps.hub.publishedHead,
    );
  }
}
