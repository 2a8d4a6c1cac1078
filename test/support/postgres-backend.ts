import { startPostgres, type PostgresCluster } from "./postgres.js";

/**
 * With SWITCHBOARD_TEST_BACKEND=postgres, every test server is a node on a
 * database of its own in one cluster per test worker, started at the first
 * server and stopped when the worker exits. A first step towards running
 * the whole suite on both backends (issue 11): tests that create tenants or
 * read the server's SQLite file beside it do not pass on it yet.
 */
let cluster: Promise<PostgresCluster> | null = null;

export const testBackend = (): "sqlite" | "postgres" => (process.env.SWITCHBOARD_TEST_BACKEND === "postgres" ? "postgres" : "sqlite");

/** A fresh database's URL on this worker's cluster. */
export async function testDatabaseUrl(): Promise<string> {
  if (!cluster) {
    cluster = startPostgres();
    const started = cluster;
    process.once("beforeExit", () => void started.then((c) => c.stop()));
  }
  return (await cluster).createDatabase();
}
