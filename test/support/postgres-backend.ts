import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { createDatabase } from "./postgres.js";

/**
 * With SWITCHBOARD_TEST_BACKEND=postgres (for the run, or from the
 * `postgres` project of vitest.config.ts), every test server is a node on a
 * database of its own in the run's cluster (test/support/postgres-global.ts).
 * Tests reach that database through test/support/database.ts and
 * tenants.ts, whichever it is.
 */
export const testBackend = (): "sqlite" | "postgres" => (process.env.SWITCHBOARD_TEST_BACKEND === "postgres" ? "postgres" : "sqlite");

/** A fresh database's URL on the run's cluster. */
export async function testDatabaseUrl(): Promise<string> {
  const port = inject("postgresPort");
  if (!port) throw new Error("no PostgreSQL cluster for this run: SWITCHBOARD_TEST_BACKEND=postgres must be set when vitest starts");
  return createDatabase(port, `test_${randomBytes(6).toString("hex")}`);
}
