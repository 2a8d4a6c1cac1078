import type { StoredEvent } from "../event.js";
import type { Logger } from "../logger.js";
import { nextTurn } from "../next-turn.js";
import type { TurnBudget } from "../turn-budget.js";

/** Committed events go to the listeners (fan-out) at most this many at a time, one slice per turn. */
const SLICE_EVENTS = 1_000;

/**
 * The log's commit listeners (the hub's fan-out, the domains' timers), fed
 * committed events in id order in slices: each slice costs what it costs the
 * listeners (a thousand streams, a thousand queues), so the next is sized
 * from the last to fit the turn's budget, shared with the fan-out's writes
 * and renders (see TurnBudget), and the loop is handed back once the budget
 * is spent. Used by both logs, so a PostgreSQL node fans out as a SQLite
 * server does.
 */
export class CommitListeners {
  readonly #listeners: ((events: StoredEvent[]) => void)[] = [];
  /** Events per slice, sized from what the last slices cost to fit a turn's budget. */
  #sliceEvents = SLICE_EVENTS;

  constructor(
    private readonly turn: TurnBudget,
    private readonly logger: Logger,
  ) {}

  add(listener: (events: StoredEvent[]) => void): void {
    this.#listeners.push(listener);
  }

  /** How many events the next slice should hold. */
  get sliceEvents(): number {
    return this.#sliceEvents;
  }

  /** Delivers `events` (ascending ids) in slices, yielding the loop between them when the turn's budget is spent. */
  async deliver(events: readonly StoredEvent[]): Promise<void> {
    for (let at = 0; at < events.length; ) {
      const slice = events.slice(at, at + this.#sliceEvents);
      at += slice.length;
      await this.deliverSlice(slice);
    }
  }

  /**
   * Publishes one slice, sizes the next from its cost, calls `published` (the log answers the requests
   * whose events have all gone out by now), and yields once this turn's budget is spent.
   */
  async deliverSlice(events: StoredEvent[], published?: () => void): Promise<void> {
    this.turn.hasTime();
    const t0 = performance.now();
    this.#publish(events);
    const perEvent = (performance.now() - t0) / events.length;
    this.#sliceEvents = Math.max(1, Math.min(SLICE_EVENTS, Math.floor(this.turn.ms / Math.max(perEvent, 1e-6))));
    published?.();
    if (!this.turn.hasTime()) await nextTurn();
  }

  #publish(events: StoredEvent[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(events);
      } catch (err) {
        // One failing listener must not stop fan-out, nor the acknowledgements after it.
        this.logger.error("commit listener failed", { error: String(err) });
      }
    }
  }
}
