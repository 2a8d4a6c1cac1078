import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackend } from "./support/postgres-backend.js";
import { publish, startTestServer, type TestServer } from "./support/server.js";

/**
 * The WAL is checkpointed beside the writer, not by it (WalCheckpoints):
 * appends reach the database file soon after they commit, well before the
 * 1,000 pages at which SQLite's own checkpoint would run inside a commit,
 * and the WAL stays bounded however much is appended.
 * SQLite only: PostgreSQL has no WAL file of ours.
 */
describe.skipIf(testBackend() === "postgres")("WAL checkpoints", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.dispose());

  const size = (suffix = "") => statSync(server.dbPath + suffix).size;
  // About 1.2 MB of events: a few hundred pages, under SQLite's own threshold.
  const round = async (tag: string) => {
    for (let r = 0; r < 3; r++) {
      const batch = Array.from({ length: 400 }, (_, i) => ({ type: "wal.fill", data: { tag, i, pad: "x".repeat(1000) } }));
      expect((await publish(server, "demo", batch)).status).toBe(201);
    }
  };

  it("copies appends into the database file soon after they commit", async () => {
    const before = size();
    await round("first");
    await expect.poll(() => size() - before, { timeout: 20_000, interval: 100 }).toBeGreaterThan(1_000_000);
  });

  it("keeps the WAL bounded while appends never pause", async () => {
    // 36 MB appended back to back, more than twice the writer's 16 MB backstop.
    for (let r = 0; r < 30; r++) await round(`steady-${r}`);
    expect(size()).toBeGreaterThan(36_000_000);
    expect(size("-wal")).toBeLessThan(24_000_000);
  });
});
