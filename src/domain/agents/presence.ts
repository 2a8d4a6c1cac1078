import type { Logger } from "../../logger.js";
import type { EventLog } from "../../store/event-log.js";

/**
 * Presence from connections: an agent holding its command stream open is
 * connected. The first stream appends `agent.connected`; when the last one
 * closes and none comes back within the grace period, Switchboard appends
 * `agent.disconnected` itself. A reconnect within the grace period appends
 * nothing, so a worker's brief network blip never flaps its status.
 */
export class Presence {
  readonly #streams = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** What the log says (or will, once queued appends commit): only Presence appends these events. */
  readonly #connected = new Set<string>();
  #stopped = false;

  constructor(
    private readonly log: EventLog,
    private readonly graceMs: number,
    private readonly logger: Logger,
  ) {}

  /** On boot: agents the log says are connected get one grace period to open their stream again. */
  start(connected: { tenant: string; agentId: string }[]): void {
    for (const { tenant, agentId } of connected) {
      this.#connected.add(key(tenant, agentId));
      this.#arm(tenant, agentId);
    }
  }

  opened(tenant: string, worker: string): void {
    if (this.#stopped) return;
    const k = key(tenant, worker);
    this.#streams.set(k, (this.#streams.get(k) ?? 0) + 1);
    const timer = this.#timers.get(k);
    if (timer) {
      clearTimeout(timer);
      this.#timers.delete(k);
    }
    if (!this.#connected.has(k)) {
      this.#connected.add(k);
      this.#append(tenant, worker, "agent.connected", {});
    }
  }

  closed(tenant: string, worker: string): void {
    if (this.#stopped) return;
    const k = key(tenant, worker);
    const n = (this.#streams.get(k) ?? 1) - 1;
    if (n > 0) {
      this.#streams.set(k, n);
      return;
    }
    this.#streams.delete(k);
    this.#arm(tenant, worker);
  }

  isConnected(tenant: string, worker: string): boolean {
    return this.#streams.has(key(tenant, worker));
  }

  /** Stops for shutdown: streams ending now are not disconnections (the next start re-arms them). */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #arm(tenant: string, worker: string): void {
    const k = key(tenant, worker);
    const timer = setTimeout(() => {
      this.#timers.delete(k);
      if (this.#streams.has(k) || !this.#connected.has(k)) return;
      this.#connected.delete(k);
      this.#append(tenant, worker, "agent.disconnected", { reason: "command stream closed" });
    }, this.graceMs);
    timer.unref();
    this.#timers.set(k, timer);
  }

  #append(tenant: string, worker: string, type: string, data: object): void {
    this.log.append(tenant, [{ type, subject: worker, data: JSON.stringify(data), key: null }]).catch((err: Error) => {
      this.logger.warn("presence event not appended", { tenant, worker, type, error: err.message });
    });
  }
}

const key = (tenant: string, worker: string) => `${tenant}\u0000${worker}`;
