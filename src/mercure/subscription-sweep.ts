import { randomUUID } from "node:crypto";
import { orphanedSubscriptions } from "../domain/mercure/queries.js";
import type { Logger } from "../logger.js";
import type { Db } from "../store/db.js";
import type { EventLog } from "../store/event-log.js";
import { documentEvent } from "./subscription-events.js";
import type { NewEvent } from "../event.js";

/** How long an appended end keeps its subscription out of the sweeps. */
const FORGET_MS = 10_000;

/**
 * Ends subscriptions whose stream is gone without having said so: a single
 * host's, all of them, when it starts again (no stream outlives its
 * process); a cluster's, those of nodes that stopped reporting (see
 * StreamCensus), swept by the leader. Each gets the subscription event its
 * stream would have published on closing, so subscribers tracking
 * subscriptions and the subscriptions API agree that it ended.
 */
export class SubscriptionSweep {
  /** Subscriptions whose end is being appended (`tenant\u0000topic`): a sweep meanwhile leaves them be. */
  readonly #ending = new Set<string>();

  constructor(
    private readonly log: EventLog,
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  /** Ends the active subscriptions of nodes not in `live` whose last event is older than `before` (ms). */
  sweep(live: Iterable<string>, before: number): Promise<void> {
    const byTenant = new Map<string, { key: string; event: NewEvent }[]>();
    for (const row of orphanedSubscriptions(this.db, [...live], before)) {
      const key = `${row.tenant}\u0000${row.topic}`;
      if (this.#ending.has(key)) continue;
      this.#ending.add(key);
      const document: Record<string, unknown> = { ...(JSON.parse(row.document) as Record<string, unknown>), active: false };
      const draft = document.type === "subscription" ? "1.0" : "0.x";
      const ending = byTenant.get(row.tenant) ?? [];
      ending.push({ key, event: documentEvent(row.topic, document, draft, `urn:uuid:${randomUUID()}`, row.node) });
      byTenant.set(row.tenant, ending);
    }
    const appends = [...byTenant].map(([tenant, ending]) =>
      this.log
        .append(tenant, ending.map((e) => e.event))
        .catch((err: Error) => this.logger.warn("could not end Mercure subscriptions whose stream is gone", { tenant, error: err.message }))
        .finally(() => {
          // A node's copy of the subscriptions learns of the end a moment after its commit: sweeps meanwhile skip it.
          setTimeout(() => {
            for (const e of ending) this.#ending.delete(e.key);
          }, FORGET_MS).unref();
        }),
    );
    return Promise.all(appends).then(() => undefined);
  }
}
