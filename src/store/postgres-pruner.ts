import type pg from "pg";
import { ACCESS_CHANNEL } from "./postgres-access.js";
import type { Pruner } from "./retention.js";

/**
 * Retention's questions on PostgreSQL (see Retention), for the node that
 * leads: each batch is its own transaction, beside the appends of every
 * node (the rows it deletes are old; appends only add new ones).
 */
export class PostgresPruner implements Pruner {
  constructor(private readonly pool: pg.Pool) {}

  async tenants(): Promise<string[]> {
    return (await this.pool.query<{ slug: string }>("SELECT slug FROM tenants")).rows.map((r) => r.slug);
  }

  async span(tenant: string): Promise<{ oldest: number; newest: number }> {
    const { rows } = await this.pool.query<{ oldest: number | null; newest: number | null }>(
      "SELECT (SELECT min(id) FROM events WHERE tenant = $1) AS oldest, (SELECT max(id) FROM events WHERE tenant = $1) AS newest",
      [tenant],
    );
    return { oldest: rows[0].oldest ?? 0, newest: rows[0].newest ?? 0 };
  }

  async nthNewest(tenant: string, n: number): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ id: number }>("SELECT id FROM events WHERE tenant = $1 ORDER BY id DESC LIMIT 1 OFFSET $2", [tenant, n]);
    return rows[0]?.id;
  }

  async firstSince(tenant: string, since: number): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ id: number }>("SELECT id FROM events WHERE tenant = $1 AND ts >= $2 ORDER BY id LIMIT 1", [tenant, since]);
    return rows[0]?.id;
  }

  async deleteBatch(tenant: string, cutoff: number, batch: number): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ up_to: number | null }>(
        "SELECT max(id) AS up_to FROM (SELECT id FROM events WHERE tenant = $1 AND id <= $2 ORDER BY id LIMIT $3) AS batch",
        [tenant, cutoff, batch],
      );
      const upTo = rows[0].up_to;
      if (upTo === null) {
        await client.query("COMMIT");
        return 0;
      }
      // Uncounted in the same transaction as the delete: the summary never disagrees with the log.
      await client.query(
        `UPDATE event_type_counts AS c SET count = c.count - gone.n
         FROM (SELECT type, count(*) AS n FROM events WHERE tenant = $1 AND id <= $2 GROUP BY type) AS gone
         WHERE c.tenant = $1 AND c.type = gone.type`,
        [tenant, upTo],
      );
      await client.query("DELETE FROM event_type_counts WHERE tenant = $1 AND count <= 0", [tenant]);
      const deleted = await client.query("DELETE FROM events WHERE tenant = $1 AND id <= $2", [tenant, upTo]);
      await client.query("UPDATE tenants SET pruned_through = greatest(pruned_through, $1) WHERE slug = $2", [upTo, tenant]);
      // Every node's replica reloads the tenants: streams resuming below the new mark get their reset there too.
      await client.query("SELECT pg_notify($1, 'pruned')", [ACCESS_CHANNEL]);
      await client.query("COMMIT");
      return deleted.rowCount ?? 0;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
