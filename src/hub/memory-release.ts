/** Held memory let go of that is worth a collection to return it. */
const RELEASE_BYTES = 8 * 1024 * 1024;

/**
 * Asks for a garbage collection once a burst's memory has been let go.
 *
 * The hub's memory comes in bursts: frames queued to streams, recent events
 * kept for replays. Both are buffers, freed only when a collection finds
 * their objects dead, and V8 collects when a thread allocates. A server
 * that has just gone calm after a burst allocates almost nothing, so what
 * the burst took would stay with the process until the next busy moment.
 * This watches what the hub holds (`held`, sampled every `everyMs`): when it
 * has fallen from a peak by RELEASE_BYTES or more, to almost nothing, it
 * calls `release`, and once more on the next sample (the buffers of sockets
 * closed with the burst are freed only by a second collection). Each is a
 * pause of the loop (30–40 ms for a 20 MB heap on 2 busy cores; the log's
 * threads collect after it, see releaseMemory in server.ts), taken when the
 * hub holds almost nothing, and never while replays are reading (`busy`):
 * four clients replaying a million events each hold little, yet would wait
 * for it. Under steady traffic held memory does not fall to nothing, and V8
 * collects on its own.
 */
export class MemoryRelease {
  #peak = 0;
  #followUp = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly held: () => number,
    readonly release: () => void,
    everyMs = 2_500,
    /** Whether work a collection's pause would hold up is under way (replays): the release then waits. */
    readonly busy: () => boolean = () => false,
  ) {
    this.#timer = setInterval(() => this.check(), everyMs);
    this.#timer.unref();
  }

  /** Samples what is held, and releases when a burst has gone (the timer calls it). */
  check(): void {
    const held = this.held();
    this.#peak = Math.max(this.#peak, held);
    if (this.busy()) return;
    if (this.#followUp) {
      // Once more a moment later: what the burst's closed sockets held is freed only by a second collection.
      this.#followUp = false;
      if (held < RELEASE_BYTES) this.release();
      return;
    }
    if (this.#peak - held >= RELEASE_BYTES && held * 16 < this.#peak) {
      this.#peak = held;
      this.#followUp = true;
      this.release();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
