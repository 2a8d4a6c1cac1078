import type { Logger } from "../../logger.js";
import type { EventLog } from "../../store/event-log.js";

/**
 * Presence from connections: an agent holding its command stream open is
 * connected. The first stream appends `agent.connected`; when the last one
 * closes and none comes back within the grace period, Switchboard appends
 * `agent.disconnected` itself. A reconnect within the grace period appends
 * nothing, so a worker's brief network blip never flaps its status.
 *
 * On a cluster (`shared`), an agent's streams may be on any node, and a
 * node may die holding them: each node appends `agent.connected` when it
 * gets a stream of an agent the log does not say is connected, and only
 * the leader decides disconnections (sweep), from every node's streams
 * (StreamCensus), so an agent moving between nodes is never called gone,
 * and one whose node died is, a grace period after its node fell silent.
 */
export class Presence {
  readonly #streams = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** What the log says (or will, once queued appends commit): only Presence appends these events. */
  readonly #connected = new Set<string>();
  /** The leader's sweeps: since when each agent the log says is connected has had no stream on any node. */
  readonly #missing = new Map<string, number>();
  #stopped = false;

  constructor(
    private readonly log: EventLog,
    private readonly graceMs: number,
    private readonly logger: Logger,
    /** On a cluster: whether the log says an agent is connected, as this node's replica has it. */
    private readonly shared?: { connectedInLog: (tenant: string, worker: string) => boolean },
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
    if (this.shared) {
      if (this.#streams.get(k) === 1 && !this.shared.connectedInLog(tenant, worker)) this.#append(tenant, worker, "agent.connected", {});
      return;
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
    // On a cluster the leader's sweeps decide, knowing every node's streams.
    if (!this.shared) this.#arm(tenant, worker);
  }

  /** The agents whose command streams this node holds, as `tenant\u0000worker` keys: what it tells the other nodes. */
  held(): Iterable<string> {
    return this.#streams.keys();
  }

  /**
   * The leader's check on a cluster, every second or so: each agent the log
   * says is connected, and that no node holds a stream of (`heldElsewhere`,
   * this node's own streams), is disconnected once that has lasted the
   * grace period, counted from the first sweep that found it so.
   */
  sweep(connected: readonly { tenant: string; agentId: string }[], heldElsewhere: ReadonlySet<string>, now: number): void {
    if (this.#stopped) return;
    const seen = new Set<string>();
    for (const { tenant, agentId } of connected) {
      const k = key(tenant, agentId);
      seen.add(k);
      if (this.#streams.has(k) || heldElsewhere.has(k)) {
        this.#missing.delete(k);
        continue;
      }
      const since = this.#missing.get(k) ?? now;
      this.#missing.set(k, since);
      if (now - since < this.graceMs) continue;
      this.#missing.delete(k);
      this.#append(tenant, agentId, "agent.disconnected", { reason: "command stream closed" });
    }
    for (const k of this.#missing.keys()) if (!seen.has(k)) this.#missing.delete(k);
  }

  /** No longer the leader: another node's sweeps count afresh. */
  stopSweeping(): void {
    this.#missing.clear();
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
