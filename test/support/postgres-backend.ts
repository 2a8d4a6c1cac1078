import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

/**
 * With SWITCHBOARD_TEST_BACKEND=postgres, every test server is a node on a
 * database of its own in the run's cluster (test/support/postgres-global.ts).
 * A first step towards running the whole suite on both backends (issue 11):
 * tests that run the CLI on the server's SQLite file, or read it beside the
 * server, do not pass on it yet.
 */
export const testBackend = (): "sqlite" | "postgres" => (process.env.SWITCHBOARD_TEST_BACKEND === "postgres" ? "postgres" : "sqlite");

/** A fresh database's URL on the run's cluster. */
export async function testDatabaseUrl(): Promise<string> {
  const port = inject("postgresPort");
  if (!port) throw new Error("no PostgreSQL cluster for this run: SWITCHBOARD_TEST_BACKEND=postgres must be set when vitest starts");
  const url = (database: string) => `postgres://switchboard@127.0.0.1:${port}/${database}`;
  const name = `test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url("postgres") });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return url(name);
}
