import type Database from "better-sqlite3";

/** A commit group's appended events, counted by tenant, then type. */
export type GroupCounts = Map<string, Map<string, number>>;

/** Counts one appended event of `tenant` and `type` into `counts`. */
export function countType(counts: GroupCounts, tenant: string, type: string): void {
  let byType = counts.get(tenant);
  if (!byType) counts.set(tenant, (byType = new Map()));
  byType.set(type, (byType.get(type) ?? 0) + 1);
}

/**
 * Keeps `event_type_counts` (retained events per tenant and type) in step
 * with the log. Both methods run inside the caller's transaction, so the
 * summary and the events it counts commit together.
 */
export class TypeCounts {
  readonly #add: Database.Statement;
  readonly #prunedTypes: Database.Statement;
  readonly #subtract: Database.Statement;
  readonly #dropEmpty: Database.Statement;

  constructor(db: Database.Database) {
    this.#add = db.prepare(
      "INSERT INTO event_type_counts (tenant, type, count) VALUES (?, ?, ?) ON CONFLICT (tenant, type) DO UPDATE SET count = count + excluded.count",
    );
    // Retention deletes a tenant's oldest events, so the rows up to the cutoff are just the batch
    // about to go: read them by id, never through the type index (that would visit every type).
    this.#prunedTypes = db.prepare(
      "SELECT type, count(*) AS n FROM events INDEXED BY events_tenant_id_idx WHERE tenant = ? AND id <= ? GROUP BY type",
    );
    this.#subtract = db.prepare("UPDATE event_type_counts SET count = count - ? WHERE tenant = ? AND type = ?");
    this.#dropEmpty = db.prepare("DELETE FROM event_type_counts WHERE tenant = ? AND type = ? AND count <= 0");
  }

  /**
   * Counts events just appended (a whole commit group), added up by the
   * caller as they were inserted (`countType`): the database sees one upsert
   * per distinct tenant and type, not one per event.
   */
  recordAppended(counts: GroupCounts): void {
    for (const [tenant, byType] of counts) for (const [type, n] of byType) this.#add.run(tenant, type, n);
  }

  /** Uncounts a tenant's events up to `upToId`; call it just before they are deleted. */
  recordPruned(tenant: string, upToId: number): void {
    const gone = this.#prunedTypes.all(tenant, upToId) as { type: string; n: number }[];
    for (const g of gone) {
      this.#subtract.run(g.n, tenant, g.type);
      this.#dropEmpty.run(tenant, g.type);
    }
  }
}
