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
 * calls `release` once. The live heap is small by then, so the collection
 * is short; under steady traffic, held memory does not fall to nothing and
 * V8 collects on its own.
 */
export class MemoryRelease {
  #peak = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly held: () => number,
    readonly release: () => void,
    everyMs = 2_500,
  ) {
    this.#timer = setInterval(() => this.check(), everyMs);
    this.#timer.unref();
  }

  /** Samples what is held, and releases when a burst has gone (the timer calls it). */
  check(): void {
    const held = this.held();
    this.#peak = Math.max(this.#peak, held);
    if (this.#peak - held >= RELEASE_BYTES && held * 16 < this.#peak) {
      this.#peak = held;
      this.release();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
