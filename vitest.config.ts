import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real servers and child processes.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel, but not more than the machine can carry.
    maxWorkers: 2,
    // With SWITCHBOARD_TEST_BACKEND=postgres: one PostgreSQL cluster for the run.
    globalSetup: ["test/support/postgres-global.ts"],
  },
});
