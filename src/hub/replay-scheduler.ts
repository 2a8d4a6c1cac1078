import { TurnBudget } from "../turn-budget.js";

/**
 * Shares the event loop between catch-up replays. A replay takes a turn
 * before each step that costs CPU (a page read, a page encoded and written),
 * and turns are granted in the order they were asked for, so many replays
 * take pages in round robin. Grants stop for the current turn of the event
 * loop once the turn's budget (shared with other sliced work) is spent: the loop then polls for I/O,
 * so live delivery, new requests and /healthz wait at most about one slice
 * (plus one step) behind any number of replays.
 *
 * Each grant resolves the step's promise and queues the next grant as a
 * microtask behind it, so the step's synchronous work (up to its next
 * await) runs, and is measured, before the next grant is considered.
 */
export class ReplayScheduler {
  #queue: (() => void)[] = [];
  #head = 0;
  #scheduled = false;
  #granted = 0;

  /** @param budget the loop's time per turn, shared with the other work done in slices (or a budget of its own). */
  constructor(readonly budget: TurnBudget = new TurnBudget()) {}

  /** Resolves when it is the caller's turn to run one step. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.#queue.push(resolve);
      this.#schedule();
    });
  }

  /** Replay steps waiting for their turn. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** Turns granted so far (steps run). */
  get granted(): number {
    return this.#granted;
  }

  #schedule(): void {
    if (this.#scheduled || this.waiting === 0) return;
    this.#scheduled = true;
    setImmediate(this.#startSlice);
  }

  #startSlice = (): void => {
    // Starts the turn's clock if nothing else has: then the first step is always granted.
    this.budget.hasTime();
    this.#grant(true);
  };

  #grant = (first = false): void => {
    // The previous step's work has run by now (its continuation was queued before this microtask).
    if (!first && !this.budget.hasTime()) {
      this.#scheduled = false;
      this.#schedule();
      return;
    }
    const next = this.#take();
    if (!next) {
      this.#scheduled = false;
      return;
    }
    this.#granted++;
    next();
    queueMicrotask(this.#grant);
  };

  #take(): (() => void) | undefined {
    if (this.waiting === 0) return undefined;
    const next = this.#queue[this.#head++];
    // Compact now and then, so the queue does not grow without end.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return next;
  }
}
