import { defineConfig } from "vitest/config";

/**
 * What the PostgreSQL project leaves to the SQLite one: files that start no
 * server (units, and store tests on SQLite by nature: query plans, upgrades
 * of old files), files that start one on a database of their own choosing
 * (the built package, the demo, the postgres-* files with their own
 * cluster), and the browser files, whose pages read the same queries on a
 * node's copy of its state (the API and console tests show the store on
 * both). `SWITCHBOARD_TEST_BACKEND=postgres npx vitest run test/browser`
 * runs them on PostgreSQL too.
 */
const SQLITE_ONLY = [
  "test/browser/**",
  "test/postgres-*.test.ts",
  "test/build.test.ts",
  "test/demo.test.ts",
  "test/demo-orphans.test.ts",
  "test/session-status-upgrade.test.ts",
  "test/type-counts.test.ts",
  "test/body-turns.test.ts",
  "test/replica-writer.test.ts",
  "test/event-reads.test.ts",
  "test/console-list-queries.test.ts",
  "test/console-lists-plans.test.ts",
  "test/list-search.test.ts",
  "test/type-filter.test.ts",
  "test/admission.test.ts",
  "test/client-address.test.ts",
  "test/config.test.ts",
  "test/event-columns.test.ts",
  "test/json-scan.test.ts",
  "test/live-list.test.ts",
  "test/mask.test.ts",
  "test/queue-budget.test.ts",
  "test/read-ahead.test.ts",
  "test/rate-limit.test.ts",
  "test/rate-meter.test.ts",
  "test/recent-events.test.ts",
  "test/sse-frame.test.ts",
  "test/wal-checkpoints.test.ts",
  "test/commit-groups.test.ts",
  "test/sqlite-writer.test.ts",
  "test/event-envelope.test.ts",
  "test/mercure-selectors.test.ts",
  "test/mercure-topic-rules.test.ts",
  "test/mercure-url-pattern.test.ts",
  // A single host's restart; a cluster's leader ends the subscriptions of nodes that went away instead.
  "test/mercure-subscriptions-crash.test.ts",
  // Open logs of their own (on each backend, or SQLite's answers by slice).
  "test/thread-collections.test.ts",
  "test/group-answers.test.ts",
  "test/mercure-tokens.test.ts",
  "test/mercure-matcher-cache.test.ts",
  "test/turn-memo.test.ts",
  "test/hub-coalesce.test.ts",
  // The hub and HTTP under load (replays sharing the loop, stalled and slow consumers, bodies, HTTP/2,
  // heartbeats, globs): their store reads are the history reads the other files check on both backends.
  "test/replay-fairness.test.ts",
  "test/input-limits.test.ts",
  "test/stalled-consumers.test.ts",
  "test/slow-consumer.test.ts",
  "test/http2.test.ts",
  "test/heartbeat.test.ts",
  // What one idle stream's objects are: no store in it, and it runs in a worker of its own (HEAP_SNAPSHOT).
  "test/idle-stream-memory.test.ts",
  "test/shared-renders.test.ts",
  "test/pathological-glob.test.ts",
  "test/burst.test.ts",
];

/**
 * A file that counts objects in a heap snapshot of its own process. Workers
 * are shared between files (`isolate: false` below), so late in a run its
 * worker holds what a hundred files left behind, and the snapshot took
 * 109–132 s in CI against 8 s in a fresh worker: it gets a fresh one.
 */
const HEAP_SNAPSHOT = ["test/idle-stream-memory.test.ts"];

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real servers and child processes.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel, but not more than the machine can carry.
    maxWorkers: 2,
    // Files share their worker's module graph rather than each importing the server afresh (import time was a
    // fifth of a run). Safe because no file mocks modules or stubs globals, and each server owns its state.
    isolate: false,
    // dist/ compiled when stale, for the servers' threads and child servers (see build-global.ts); one
    // PostgreSQL cluster for a run on PostgreSQL (see postgres-global.ts).
    globalSetup: ["test/support/build-global.ts", "test/support/postgres-global.ts"],
    // `npm test`: every file on SQLite, and every file that starts a server on a database it is given, on
    // PostgreSQL too. SWITCHBOARD_TEST_BACKEND=sqlite|postgres runs every file on that backend alone.
    projects: process.env.SWITCHBOARD_TEST_BACKEND
      ? undefined
      : [
          { extends: true, test: { name: "sqlite", exclude: HEAP_SNAPSHOT } },
          { extends: true, test: { name: "postgres", exclude: SQLITE_ONLY, env: { SWITCHBOARD_TEST_BACKEND: "postgres" } } },
          // Not `extends`: that would add the root's `include` to this one's.
          { test: { name: "heap", include: HEAP_SNAPSHOT, isolate: true, testTimeout: 60_000, hookTimeout: 60_000 } },
        ],
  },
});
