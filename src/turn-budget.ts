/**
 * The event loop's time for work that can wait, shared per turn by
 * everything that does its work in slices: catch-up replays, console
 * renders, writes of queued frames, fan-out of committed events, requests
 * let in after a storm. Each of them alone stopping after a few
 * milliseconds is not enough: when all are busy at once, a turn would last
 * the sum of their slices, and every other client would wait that long for
 * its turn. With one budget, a turn's deferrable work together takes about
 * `ms`, plus at most one step of each (every one of them makes progress on
 * every turn, so none is starved).
 *
 * Node has no hook where a turn begins: the clock starts at the first
 * question in a turn and is reset by the next setImmediate callback.
 */
export class TurnBudget {
  #start = -1;

  constructor(readonly ms = 4) {}

  /** Whether this turn still has time for deferrable work (the first question in a turn starts its clock). */
  hasTime(): boolean {
    const now = performance.now();
    if (this.#start < 0) {
      this.#start = now;
      setImmediate(this.#reset);
      return true;
    }
    return now - this.#start < this.ms;
  }

  #reset = (): void => {
    this.#start = -1;
  };
}
