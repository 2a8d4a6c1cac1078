/** Something that holds queued output and can be cut to free it (a Subscriber). */
export interface Holder {
  /** Bytes it holds now, as last accounted (reservations included). */
  readonly queuedBytes: number;
  /** Bytes its socket has not yet taken: what a stalled client holds. */
  readonly unsentBytes: number;
  /**
   * When its socket last made progress (took bytes), or started holding unsent
   * bytes, in the budget's clock: how long it has been stalled.
   */
  readonly heldSince: number;
  /** Drops the connection, releasing everything it holds (it resumes from the log). */
  cutForMemory(): void;
}

/**
 * The global bound on output queued for every stream together. Each stream
 * reports what it holds (frames waiting for the next flush, bytes its socket
 * has not yet handed to the kernel, and catch-up pages it reserved), and
 * asks before taking more. A shared frame queued to many sockets counts once
 * per socket: the bound overstates real memory, never understates it.
 *
 * When memory is needed, streams whose sockets have taken nothing for
 * `graceMs` are cut; a stream still draining its share of a burst is never
 * cut because others stall.
 *
 * Catch-up replays may fill only a share of the bound (`REPLAY_SHARE`): the
 * rest is headroom for live frames, so healthy live streams keep receiving
 * live (rather than falling back to the log) while replays to stalled
 * sockets fill their share.
 */
/** Scans for stalled holders to cut are at least this far apart. */
const SCAN_GAP_MS = 20;

export class QueueBudget {
  #total = 0;
  readonly #holders = new Set<Holder>();
  /** Replays waiting for room, oldest first. */
  #waiters: (() => void)[] = [];
  /** One timer for every waiter: a thousand waiting replays must not make a thousand timers per retry. */
  #waitTimer: NodeJS.Timeout | null = null;
  /** No scan for stalled holders before this (see reclaim). */
  #nextScan = 0;

  constructor(
    /** The bound, in bytes. */
    readonly maxBytes: number,
    /** How long a holder must have made no progress before it may be cut for memory. */
    readonly graceMs: number,
    readonly now: () => number = Date.now,
    /** Whether this turn of the event loop has time left for work that can wait (the hub's TurnBudget). */
    readonly hasTime: () => boolean = () => true,
  ) {}

  /** Bytes held by every stream together. */
  get total(): number {
    return this.#total;
  }

  /** Whether `bytes` more fit under the bound, or under its `share` (0..1). */
  fits(bytes: number, share = 1): boolean {
    return this.#total + bytes <= this.maxBytes * share;
  }

  /** Records that `holder` went from `before` to `after` bytes (its `queuedBytes` must already be `after`). */
  adjust(holder: Holder, before: number, after: number): void {
    this.#total += after - before;
    if (after === 0) this.#holders.delete(holder);
    else if (before === 0) this.#holders.add(holder);
    // Wake as many waiters as the freed bytes may serve (a page is about 1/64 of the bound), not all:
    // each woken replay takes a turn to try, and the rest would only queue again.
    if (after < before && this.#waiters.length > 0) this.#wake(Math.max(1, Math.floor(((before - after) * 64) / this.maxBytes)));
  }

  /**
   * Makes room for `bytes` under `share` of the bound. When they do not fit,
   * every holder whose socket has taken nothing for `graceMs` is cut, not
   * just enough of them: memory is short, and each of them holds its part
   * of it for a client that is not reading. Returns whether the bytes fit.
   */
  reclaim(bytes: number, share = 1): boolean {
    if (this.fits(bytes, share)) return true;
    // Many replays ask at once when the bound is full; one scan of every holder serves them all for a moment.
    const now = this.now();
    if (now < this.#nextScan) return false;
    this.#nextScan = now + SCAN_GAP_MS;
    this.#cut(this.#stalled(this.graceMs));
    return this.fits(bytes, share);
  }

  /** Cuts every holder whose socket has taken nothing for `stallMs` (a stalled client); returns how many (cut now or on the next turns). */
  cutStalled(stallMs: number): number {
    const stalled = this.#stalled(stallMs);
    this.#cut(stalled);
    return stalled.length;
  }

  /**
   * Cuts `holders` while the turn has time (at least one), and the rest on
   * the following turns: closing a socket costs tens of microseconds, and a
   * thousand stalled clients cut in one go held every other client's
   * requests for most of that many milliseconds. A holder that has closed
   * or drained meanwhile is left alone.
   */
  #cut(holders: readonly Holder[]): void {
    let i = 0;
    while (i < holders.length) {
      holders[i++].cutForMemory();
      if (!this.hasTime()) break;
    }
    if (i < holders.length) {
      const rest = holders.slice(i);
      setImmediate(() => this.#cut(rest.filter((h) => this.#holders.has(h) && h.unsentBytes > 0)));
    }
  }

  #stalled(forMs: number): Holder[] {
    const before = this.now() - forMs;
    return [...this.#holders].filter((h) => h.unsentBytes > 0 && h.heldSince <= before);
  }

  /**
   * Resolves once some bytes are freed (waiters are woken oldest first, as
   * many as the freed bytes may serve), or after at most `ms` for everyone
   * waiting then (when a holder may have become old enough to cut).
   */
  freed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      if (this.#waitTimer === null) {
        this.#waitTimer = setTimeout(() => {
          this.#waitTimer = null;
          this.#wake(this.#waiters.length);
        }, ms);
        this.#waitTimer.unref();
      }
    });
  }

  #wake(count: number): void {
    const woken = this.#waiters.splice(0, count);
    if (this.#waiters.length === 0 && this.#waitTimer !== null) {
      clearTimeout(this.#waitTimer);
      this.#waitTimer = null;
    }
    for (const w of woken) w();
  }
}
