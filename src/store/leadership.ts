import pg from "pg";
import type { Logger } from "../logger.js";

/** The session-level advisory lock whose holder is the leader. */
export const LEADER_LOCK = 0x5357_4c44; // "SWLD"

export interface LeadershipOptions {
  url: string;
  logger: Logger;
  /** How often a node that is not the leader tries to become it. */
  retryMs?: number;
  /** Called when this node becomes the leader: start the work done once per cluster. */
  onLead(): void;
  /** Called when it stops being the leader (its connection is gone): stop that work at once. */
  onLose(): void;
}

/**
 * Which node does the work that must happen once per cluster (presence
 * grace timers, command expiry, connect timeouts, retention): the one
 * holding LEADER_LOCK, a session-level advisory lock on a connection of
 * its own. PostgreSQL releases it when that session ends, so a node that
 * dies (or loses the database) hands leadership on within `retryMs` of
 * its connection closing, with no election of our own.
 */
export class Leadership {
  #client: pg.Client | null = null;
  #leader = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  private constructor(private readonly options: LeadershipOptions) {}

  static start(options: LeadershipOptions): Leadership {
    const leadership = new Leadership(options);
    void leadership.#attempt();
    return leadership;
  }

  isLeader(): boolean {
    return this.#leader;
  }

  async #attempt(): Promise<void> {
    this.#timer = null;
    if (this.#stopped) return;
    try {
      const client = this.#client ?? (await this.#connect());
      const { rows } = await client.query<{ held: boolean }>("SELECT pg_try_advisory_lock($1) AS held", [LEADER_LOCK]);
      if (this.#stopped) return;
      if (rows[0].held) {
        this.#leader = true;
        this.options.logger.info("this node leads: it runs the cluster's timers and retention");
        this.options.onLead();
        return;
      }
    } catch (err) {
      this.options.logger.warn("could not try for leadership; retrying", { error: (err as Error).message });
      this.#drop();
    }
    this.#schedule();
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.options.url, keepAlive: true });
    client.on("error", () => this.#lost(client));
    client.on("end", () => this.#lost(client));
    await client.connect();
    this.#client = client;
    return client;
  }

  /** The lock's session is gone, and the lock with it: stop leading at once, then try again. */
  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#drop();
    if (!this.#stopped) this.#schedule();
  }

  #drop(): void {
    const client = this.#client;
    this.#client = null;
    client?.end().catch(() => undefined);
    if (this.#leader) {
      this.#leader = false;
      this.options.logger.warn("this node no longer leads");
      this.options.onLose();
    }
  }

  #schedule(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => void this.#attempt(), this.options.retryMs ?? 1_000);
    this.#timer.unref();
  }

  /** Gives leadership up (closing the session releases the lock for the next node). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    if (this.#leader) {
      this.#leader = false;
      this.options.onLose();
    }
    await client?.end().catch(() => undefined);
  }
}
