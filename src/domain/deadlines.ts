/**
 * Timers keyed by entity, for commands that expire unanswered (a workflow
 * control, a channel connect). Setting a key again replaces its timer; on
 * boot a domain re-arms them from its projection, so a restart does not
 * make a pending command wait forever.
 */
export class Deadlines {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopped = false;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Runs `fire` at `at` (ms since the epoch; at once if past) unless cleared or replaced first. */
  set(key: string, at: number, fire: () => void): void {
    if (this.#stopped) return;
    this.clear(key);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      fire();
    }, Math.max(0, at - this.clock()));
    timer.unref();
    this.#timers.set(key, timer);
  }

  clear(key: string): void {
    const timer = this.#timers.get(key);
    if (timer) clearTimeout(timer);
    this.#timers.delete(key);
  }

  has(key: string): boolean {
    return this.#timers.has(key);
  }

  /** Arms again after stop(): a node that leads again (src/store/leadership.ts) resumes its timers. */
  start(): void {
    this.#stopped = false;
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
