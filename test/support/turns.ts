/**
 * Counts turns of the event loop (one setImmediate callback a turn) until
 * stopped: how a test tells whether work handed the loop back.
 */
export class TurnCounter {
  count = 0;
  #running = true;

  constructor() {
    setImmediate(this.#tick);
  }

  stop(): void {
    this.#running = false;
  }

  #tick = (): void => {
    this.count++;
    if (this.#running) setImmediate(this.#tick);
  };
}
