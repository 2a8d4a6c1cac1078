import type { TestProject } from "vitest/node";
import { startPostgres } from "./postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The port of the run's PostgreSQL cluster, on PostgreSQL; 0 otherwise. */
    postgresPort: number;
  }
}

/**
 * On PostgreSQL (SWITCHBOARD_TEST_BACKEND=postgres, set for the run or by
 * the `postgres` project of vitest.config.ts), one PostgreSQL cluster for
 * the whole run, started before any test file and stopped after the last
 * (a test file's worker cannot stop what it started: it ends with the file).
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const backend = project.config.env?.SWITCHBOARD_TEST_BACKEND ?? process.env.SWITCHBOARD_TEST_BACKEND;
  if (backend !== "postgres") {
    project.provide("postgresPort", 0);
    return undefined;
  }
  const cluster = await startPostgres();
  project.provide("postgresPort", cluster.port);
  return () => cluster.stop();
}
