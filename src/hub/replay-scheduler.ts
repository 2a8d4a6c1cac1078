import { TurnBudget } from "../turn-budget.js";

/**
 * Shares the event loop between steps of long work: catch-up replays (a
 * step is a page read, or a page encoded and written) and requests let in
 * after a storm. Steps are granted round robin between tenants (`turn`'s
 * key), and in the order they were asked for within a tenant: a tenant with
 * a thousand replays, or a flood of requests, gets one step in turn with a
 * tenant that has one. Grants stop for the current turn of the event loop
 * once the turn's budget (shared with other sliced work) is spent: the loop
 * then polls for I/O, so live delivery, new requests and /healthz wait at
 * most about one budget (plus one step) behind any number of steps.
 *
 * Each grant resolves the step's promise and queues the next grant as a
 * microtask behind it, so the step's synchronous work (up to its next
 * await) runs, and is measured, before the next grant is considered.
 */
export class ReplayScheduler {
  /** Waiting steps by tenant; the map's order is the rotation (a tenant just served goes to the back). */
  readonly #queues = new Map<string, StepQueue>();
  #waiting = 0;
  #scheduled = false;
  #granted = 0;

  /** @param budget the loop's time per turn, shared with the other work done in slices (or a budget of its own). */
  constructor(readonly budget: TurnBudget = new TurnBudget()) {}

  /** Resolves when it is the caller's turn to run one step; `key` is whose step it is (a tenant). */
  turn(key = ""): Promise<void> {
    return new Promise((resolve) => {
      let queue = this.#queues.get(key);
      if (!queue) this.#queues.set(key, (queue = new StepQueue()));
      queue.push(resolve);
      this.#waiting++;
      this.#schedule();
    });
  }

  /** Steps waiting for their turn. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Turns granted so far (steps run). */
  get granted(): number {
    return this.#granted;
  }

  #schedule(): void {
    if (this.#scheduled || this.#waiting === 0) return;
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

  /** The next step: the first tenant in the rotation's oldest, and that tenant goes to the back. */
  #take(): (() => void) | undefined {
    for (const [key, queue] of this.#queues) {
      const next = queue.shift();
      this.#queues.delete(key);
      if (queue.size > 0) this.#queues.set(key, queue);
      this.#waiting--;
      return next;
    }
    return undefined;
  }
}

/** A FIFO of waiting steps with O(1) removal at the front. */
class StepQueue {
  #items: (() => void)[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(step: () => void): void {
    this.#items.push(step);
  }

  shift(): () => void {
    const step = this.#items[this.#head++];
    // Compact now and then, so the array does not grow without end.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return step;
  }
}
