import type { StoredEvent } from "../event.js";
import { EncodedFrame } from "./subscriber.js";

type Encode = (e: StoredEvent) => string | null;

/**
 * One published event and the frames made from it, one per encoding (an
 * `encode` function). Every group and every replay that encodes the event the
 * same way shares its frame.
 */
export class PublishedEvent {
  #frames: Map<Encode, EncodedFrame | null> | null = null;
  /** Bytes this entry holds: the event's text and its frames. */
  bytes: number;
  /** The ring that holds it (and counts its bytes), while it does. */
  ring: RecentEvents | null = null;

  constructor(
    readonly event: StoredEvent,
    /** When it was published, in the ring's clock. */
    readonly at: number,
  ) {
    this.bytes = event.data.length + event.type.length + (event.subject?.length ?? 0) + 64;
  }

  /** The event's frame as `encode` makes it, encoded on first use; null when it sends nothing. */
  frame(encode: Encode): EncodedFrame | null {
    const known = this.#frames?.get(encode);
    if (known !== undefined) return known;
    const text = encode(this.event);
    // An empty frame would be an empty HTTP chunk: the end of the response.
    const frame = text ? new EncodedFrame(Buffer.from(text)) : null;
    (this.#frames ??= new Map()).set(encode, frame);
    if (frame) {
      this.bytes += frame.bytes.length;
      this.ring?.grew(frame.bytes.length);
    }
    return frame;
  }
}

/** A page of frames taken from the recent events for one replay. */
export interface RecentPage {
  frames: Buffer[];
  bytes: number;
  /** The replay has been sent everything through this id. */
  through: number;
}

/** Entries a page examines at most, matching or not: one replay's step stays short whatever its filter. */
const SCAN_PER_PAGE = 4096;

/**
 * The last events published, with their frames, kept in memory for a
 * bounded number of bytes and seconds. A stream that falls behind in a burst,
 * or a client that reconnects a moment after a network blip, catches up from
 * here: its pages are the very frames live delivery made, shared, with no
 * read from the log and no copy per stream. A thousand streams behind by the
 * same burst then cost the burst once, not a thousand times.
 *
 * The ring holds every event published after `from`, in id order (the hub
 * is given every committed event, in order), so a replay whose cursor is at
 * or past `from` finds everything it needs here.
 */
export class RecentEvents {
  /** In id order; slots before `#head` are evicted (null, so their memory goes at once). */
  #entries: (PublishedEvent | null)[] = [];
  #head = 0;
  #bytes = 0;
  /** While a page is made: the frames it encodes grow the ring, and eviction waits for the page's end (see page). */
  #paging = false;
  /** Every event published with an id above this is in the ring. */
  #from = 0;
  readonly #timer: NodeJS.Timeout | null;

  constructor(
    /** Bytes of events and frames kept at most; 0 keeps nothing. */
    readonly maxBytes: number,
    /** How long an event is kept at most, so memory returns to its baseline once traffic calms. */
    readonly maxAgeMs: number,
    readonly now: () => number = Date.now,
  ) {
    this.#timer = maxBytes > 0 ? setInterval(() => this.sweep(), Math.max(100, maxAgeMs / 4)) : null;
    this.#timer?.unref();
  }

  /** Drops what has grown too old (a timer calls it). */
  sweep(): void {
    this.#evict();
  }

  /** Starts the ring at the log's head: nothing before it is here. */
  startAt(id: number): void {
    if (this.size === 0) this.#from = Math.max(this.#from, id);
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Records a published event (ids ascending) and returns its entry, whose frames groups share. */
  push(e: StoredEvent): PublishedEvent {
    const entry = new PublishedEvent(e, this.now());
    if (this.maxBytes === 0) {
      this.#from = e.id;
      return entry;
    }
    entry.ring = this;
    this.#entries.push(entry);
    this.#bytes += entry.bytes;
    if (this.#bytes > this.maxBytes) this.#evict();
    return entry;
  }

  /** An entry it holds made a frame. */
  grew(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes > this.maxBytes && !this.#paging) this.#evict();
  }

  /** Whether a replay at `cursor` finds every event it still needs here. */
  covers(cursor: number): boolean {
    return this.size > 0 && cursor >= this.#from;
  }

  /**
   * The frames of one tenant's (null: every tenant's) matching events after
   * `cursor`, up to `maxBytes` (at least one frame) or `maxFrames`, and where
   * the page stops. Only for a cursor the ring covers.
   */
  page(
    cursor: number,
    tenant: string | null,
    match: (e: StoredEvent) => boolean,
    encode: Encode,
    maxBytes: number,
    maxFrames: number,
    /** The highest id retention has pruned of a tenant: memory may still hold events the log no longer has. */
    prunedThrough: (tenant: string) => number = () => 0,
  ): RecentPage {
    // Evicting while the page encodes frames would null or move the very entries it walks: it waits, and
    // the ring exceeds its bound by at most this page's new frames meanwhile.
    this.#paging = true;
    try {
      const pruned = new Map<string, number>();
      const frames: Buffer[] = [];
      let bytes = 0;
      let i = this.#firstAfter(cursor);
      let through = cursor;
      const end = Math.min(this.#entries.length, i + SCAN_PER_PAGE);
      for (; i < end && bytes < maxBytes && frames.length < maxFrames; i++) {
        const entry = this.#entries[i]!;
        through = entry.event.id;
        const e = entry.event;
        if ((tenant !== null && e.tenant !== tenant) || !match(e)) continue;
        let gone = pruned.get(e.tenant);
        if (gone === undefined) pruned.set(e.tenant, (gone = prunedThrough(e.tenant)));
        if (e.id <= gone) continue;
        const frame = entry.frame(encode);
        if (!frame) continue;
        frames.push(frame.bytes);
        bytes += frame.bytes.length;
      }
      return { frames, bytes, through };
    } finally {
      this.#paging = false;
      if (this.#bytes > this.maxBytes) this.#evict();
    }
  }

  /** Index of the first entry with an id above `cursor`. */
  #firstAfter(cursor: number): number {
    let lo = this.#head;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#entries[mid]!.event.id <= cursor) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #evict(): void {
    const oldest = this.now() - this.maxAgeMs;
    while (this.#head < this.#entries.length) {
      const entry = this.#entries[this.#head]!;
      if (this.#bytes <= this.maxBytes && entry.at > oldest) break;
      this.#bytes -= entry.bytes;
      entry.ring = null;
      this.#from = entry.event.id;
      this.#entries[this.#head++] = null;
    }
    // Drop evicted slots now and then, so the array does not grow without end.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#head = 0;
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
