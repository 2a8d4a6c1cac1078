import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCookie } from "./support/console.js";
import { databaseBefore } from "./support/old-database.js";
import { testBackend } from "./support/postgres-backend.js";
import { startTestServer, type TestServer } from "./support/server.js";

/**
 * Sessions from before the sessions list had their status kept by the
 * projection: the upgrade reads it once from their messages, so the list's
 * status and unanswered filters hold for them too.
 */
// An upgrade of a SQLite file from before the sessions list: no PostgreSQL database ever lacked the status.
describe.skipIf(testBackend() === "postgres")("sessions from before the sessions list", () => {
  let dir: string;
  let server: TestServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-sessions-"));
    databaseBefore(join(dir, "switchboard.db"), /ALTER TABLE `chat_sessions` ADD `status`/, (sqlite) => {
      sqlite.prepare("INSERT INTO tenants (slug, name, created_at) VALUES ('demo', 'Demo', 1)").run();
      const session = sqlite.prepare("INSERT INTO chat_sessions (tenant, session_id, agent, title, created_at, updated_at, event_id) VALUES ('demo', ?, 'helper', NULL, 1, ?, 1)");
      // Created now: a pending message older than COMMAND_TIMEOUT_MS would expire as the server starts.
      const now = Date.now();
      const message = sqlite.prepare(`INSERT INTO chat_messages (tenant, session_id, message_id, role, text, status, created_at, updated_at, event_id) VALUES ('demo', ?, ?, ?, 'x', ?, ${now}, ${now}, 1)`);
      session.run("s-answering", 4);
      message.run("s-answering", "m1", "user", "complete");
      message.run("s-answering", "a1", "assistant", "streaming");
      session.run("s-waiting", 3);
      message.run("s-waiting", "m1", "user", "pending");
      message.run("s-waiting", "m2", "user", "expired");
      session.run("s-lost", 2);
      message.run("s-lost", "m1", "user", "expired");
      session.run("s-done", 1);
      message.run("s-done", "m1", "user", "complete");
      message.run("s-done", "a1", "assistant", "complete");
    });
    server = await startTestServer({ COMMAND_TIMEOUT_MS: "600000" }, dir);
  });
  afterAll(async () => {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads each session's status and unanswered messages from its messages", async () => {
    const cookie = await sessionCookie(server);
    const list = async (q: string) => {
      const html = await (await fetch(`${server.url}/t/demo/sessions${q}`, { headers: { cookie } })).text();
      return [...html.matchAll(/data-session="([^"]+)"/g)].map((m) => m[1]);
    };
    expect(await list("")).toEqual(["s-answering", "s-waiting", "s-lost", "s-done"]);
    expect(await list("?status=answering")).toEqual(["s-answering"]);
    expect(await list("?status=waiting")).toEqual(["s-waiting"]);
    expect(await list("?status=idle")).toEqual(["s-lost", "s-done"]);
    expect(await list("?unread=1")).toEqual(["s-waiting", "s-lost"]);
    const html = await (await fetch(`${server.url}/t/demo/sessions?unread=1`, { headers: { cookie } })).text();
    expect(html).toContain("2 unanswered");
  });
});
