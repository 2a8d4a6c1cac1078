import type pg from "pg";

/**
 * Runs `work` in one transaction on a connection of `pool`: committed when
 * it resolves, rolled back when it throws (the error is rethrown), and the
 * connection given back either way.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
