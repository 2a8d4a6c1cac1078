import type { Logger } from "../logger.js";
import type { CheckpointResult } from "./reader-protocol.js";

/** How often the WAL is checkpointed while the log takes appends. */
const EVERY_MS = 250;
/** Every this many ticks it is checkpointed anyway: retention's deletes and session writes are not appends. */
const ANYWAY_EVERY = 20;

/**
 * Keeps the WAL short without the writer's commits ever waiting for it.
 *
 * SQLite checkpoints by default in the connection that commits, inside
 * that commit, once the WAL passes 1,000 pages: every few megabytes of
 * appends, one group's commit also copied the WAL into the database file
 * and fsynced it, and every request in that group, and in the groups
 * queued behind it, waited tens of milliseconds more (p99 of a 1.5 MB
 * group's commit: 54–109 ms with it, 19–51 ms without, measured on this
 * machine's disk). The writer checkpoints only as a backstop, past 16 MB of
 * WAL, and this runs a PASSIVE checkpoint on a reader's connection instead,
 * a few times a second while appends arrive: it copies what no reader still
 * needs while the writer goes on appending, and once it has caught up the
 * writer's next commit starts the WAL over from its beginning.
 */
export class WalCheckpoints {
  #appended = false;
  #running = false;
  #ticks = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly checkpoint: () => Promise<CheckpointResult>,
    readonly logger: Logger,
    everyMs = EVERY_MS,
  ) {
    this.#timer = setInterval(() => void this.#run(), everyMs);
    this.#timer.unref();
  }

  /** Something was committed: the next tick checkpoints. */
  appended(): void {
    this.#appended = true;
  }

  async #run(): Promise<void> {
    const anyway = ++this.#ticks % ANYWAY_EVERY === 0;
    if (!(this.#appended || anyway) || this.#running) return;
    this.#appended = false;
    this.#running = true;
    try {
      const r = await this.checkpoint();
      // Frames a reader's snapshot still needed are copied on a later tick.
      if (r.checkpointedPages < r.walPages) this.#appended = true;
    } catch (err) {
      this.#appended = true;
      this.logger.warn("a WAL checkpoint failed; retrying", { error: (err as Error).message });
    } finally {
      this.#running = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
