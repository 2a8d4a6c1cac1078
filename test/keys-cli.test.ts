import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashKey } from "../src/store/keys.js";
import { cli } from "./support/database.js";
import { databaseBefore } from "./support/old-database.js";
import { testBackend } from "./support/postgres-backend.js";
import { api, startTestServer, type TestServer } from "./support/server.js";

/**
 * Keys as an operator makes them (the CLI, on the server's database while it
 * runs) and as an upgrade finds them: the work scope with its worker
 * binding, the admin scope kept to admin keys, and keys from before the work
 * scope existed.
 */
describe("keys: the CLI and keys from before the work scope", () => {
  let dir: string;
  let server: TestServer;
  const legacy = { publisher: "sb_legacy-publisher-key-0123456789", reader: "sb_legacy-reader-key-0123456789" };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "switchboard-keys-"));
    // The release before the worker binding, with keys as it wrote them (on SQLite: PostgreSQL's schema began with the binding).
    if (testBackend() === "sqlite") databaseBefore(join(dir, "switchboard.db"), /ALTER TABLE `api_keys` ADD `workers`|`workers` text/, (sqlite) => {
      sqlite.prepare("INSERT INTO tenants (slug, name, created_at) VALUES ('demo', 'Demo', 1)").run();
      const insert = sqlite.prepare("INSERT INTO api_keys (id, hash, tenant, scopes, label, created_at) VALUES (?, ?, ?, ?, ?, 1)");
      insert.run("key_oldadmin", hashKey("sb_legacy-admin-key-0123456789abc"), null, "read,publish,control,admin", "old admin");
      insert.run("key_oldpub", hashKey(legacy.publisher), "demo", "read,publish", "old worker");
      insert.run("key_oldread", hashKey(legacy.reader), "demo", "read", "old dashboard");
    });
    server = await startTestServer({}, dir);
  });
  afterAll(async () => {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const commands = (worker: string, key: string) => api(server, `/api/v1/tenants/demo/workers/${worker}/commands`, { key, headers: { accept: "text/event-stream" } });
  const status = async (res: Promise<Response>) => {
    const r = await res;
    await r.body?.cancel();
    return r.status;
  };

  // An upgrade of a SQLite file from before the work scope: no PostgreSQL database ever lacked it.
  it.skipIf(testBackend() === "postgres")("upgrades keys from before the work scope: publish keys keep working as workers, read-only keys no longer can", async () => {
    expect(await status(commands("old-worker", legacy.publisher))).toBe(200);
    const refused = await commands("old-worker", legacy.reader);
    expect(refused.status).toBe(403);
    expect((await refused.json()).message).toMatch(/lacks the "work" scope/);
    const listed = await cli(server, "keys", "list");
    expect(listed).toMatch(/key_oldpub\s+demo\s+read,publish,work\s+\(any\)\s+old worker/);
    expect(listed).toMatch(/key_oldread\s+demo\s+read\s+old dashboard/);
    expect(listed).toMatch(/key_oldadmin\s+\(all, admin\)\s+read,publish,control,work,admin\s+\(any\)/);
  });

  it("creates a key bound to workers and lists the binding", async () => {
    const out = await cli(server, "keys", "create", "--tenant", "demo", "--scopes", "read,publish,work", "--workers", "runner-1, connector-*", "--label", "runner");
    expect(out).toMatch(/created key key_[0-9a-f]+ for tenant demo with scopes read,publish,work, speaking for workers runner-1,connector-\*/);
    const id = /created key (key_[0-9a-f]+)/.exec(out)![1];
    expect(await cli(server, "keys", "list", "--tenant", "demo")).toMatch(new RegExp(`${id}\\s+demo\\s+read,publish,work\\s+runner-1,connector-\\*\\s+runner`));
    expect(await cli(server, "--help")).toMatch(/--workers/);
  });

  it("refuses a binding without the work scope, and the admin scope on a tenant's key", async () => {
    await expect(cli(server, "keys", "create", "--tenant", "demo", "--scopes", "read,publish", "--workers", "runner-1")).rejects.toThrow(/add work to --scopes/);
    await expect(cli(server, "keys", "create", "--tenant", "demo", "--scopes", "read,work", "--workers", ",")).rejects.toThrow(/at least one worker id/);
    await expect(cli(server, "keys", "create", "--tenant", "demo", "--scopes", "read,admin")).rejects.toThrow(/admin scope is for admin keys/);
    await expect(cli(server, "keys", "create", "--tenant", "demo", "--scopes", "read,works")).rejects.toThrow(/unknown scope "works"; scopes are read, publish, control, work, admin/);
    // An all-tenant key without the admin scope is listed as such: it reaches each tenant, not the views across them.
    const out = await cli(server, "keys", "create", "--admin", "--scopes", "read");
    expect(out).toMatch(/for all tenants with scopes read$/m);
  });
});
