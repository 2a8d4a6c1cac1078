import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EventSource, type FetchLikeResponse } from "eventsource";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sessionCookie } from "./support/console.js";
import { cli, databaseOf } from "./support/database.js";
import { RawStream } from "./support/raw-stream.js";
import { ADMIN_KEY, api, publish, startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { tenantKey, untilKnown } from "./support/tenants.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The CLI as an operator runs it: another process, writing the database directly. */
async function cliProcess(server: TestServer, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--enable-source-maps", "dist/cli.js", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATABASE_URL: databaseOf(server) },
  });
  return stdout;
}

/** The data of a stream's last message, when it is the `revoked` frame. */
function revokedWith(stream: SseClient): { reason: string; message: string } | null {
  const last = stream.messages.at(-1);
  return last?.event === "revoked" ? JSON.parse(last.data) : null;
}

/** Resolves once the server has ended the stream. */
const ended = (stream: SseClient) => stream.until((s) => s.closed, 30_000);

/**
 * Revoking a key or disabling a tenant ends every stream opened with it —
 * JSON streams, the admin stream, worker command streams, console page
 * streams — within ACCESS_CHECK_MS, with a final `revoked` frame that says
 * why, also when the CLI does it from another process. Streams of other
 * keys and tenants go on.
 */
describe("streams end when their access does", () => {
  let server: TestServer;
  const open: { close(): void }[] = [];
  const stream = async (path: string, headers: Record<string, string>) => {
    const s = await SseClient.open(server.url + path, headers);
    open.push(s);
    expect(s.status).toBe(200);
    return s;
  };
  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

  beforeAll(async () => {
    server = await startTestServer({ ACCESS_CHECK_MS: "200", SSE_RETRY_MS: "100" });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("`keys revoke` in another process ends the key's tenant stream with a final frame; another key's stream goes on", async () => {
    const doomed = await tenantKey(server, "demo", ["read"]);
    const other = await tenantKey(server, "demo", ["read"]);
    const a = await stream("/api/v1/tenants/demo/stream", bearer(doomed.secret));
    const b = await stream("/api/v1/tenants/demo/stream", bearer(other.secret));
    const first = await publish(server, "demo", { type: "note.before" });
    await a.until((s) => s.ids().includes(first.body.ids[0]));

    expect(await cliProcess(server, "keys", "revoke", doomed.id)).toMatch(/revoked key/);
    await ended(a);
    expect(revokedWith(a)).toEqual({ reason: "key_revoked", message: expect.stringMatching(/revoked/) });
    // The final frame carries no id: the client's Last-Event-ID stays at the last event it got.
    expect(a.messages.at(-1)!.id).toBeUndefined();

    const after = await publish(server, "demo", { type: "note.after" });
    await b.until((s) => s.ids().includes(after.body.ids[0]));
    expect(b.closed).toBe(false);
    expect(a.ids()).not.toContain(after.body.ids[0]);
    // And the key opens nothing any more.
    expect((await api(server, "/api/v1/tenants/demo/stream", { key: doomed.secret })).status).toBe(401);
  });

  it("ends the admin stream of every tenant and a worker's command stream opened with a revoked key", async () => {
    const admin = await cli(server, "keys", "create", "--admin", "--scopes", "read,admin");
    const adminSecret = /^\s+(sb_\S+)$/m.exec(admin)![1];
    const adminId = /key (key_[0-9a-f]+)/.exec(admin)![1];
    await untilKnown(server, "demo", adminSecret, true);
    const worker = await tenantKey(server, "demo", ["read", "publish", "work"]);
    const all = await stream("/api/v1/stream", bearer(adminSecret));
    const commands = await stream("/api/v1/tenants/demo/workers/w-revoked/commands", bearer(worker.secret));

    await cli(server, "keys", "revoke", adminId);
    await cli(server, "keys", "revoke", worker.id);
    await Promise.all([ended(all), ended(commands)]);
    expect(revokedWith(all)?.reason).toBe("key_revoked");
    expect(revokedWith(commands)?.reason).toBe("key_revoked");
  });

  it("ends every stream of one key, however many (one check per key, not per stream)", async () => {
    const key = await tenantKey(server, "demo", ["read"]);
    const streams = Array.from({ length: 60 }, () => RawStream.open(server.url, "/api/v1/tenants/demo/stream", bearer(key.secret)));
    open.push(...streams.map((s) => ({ close: () => s.destroy() })));
    await expect.poll(() => streams.filter((s) => s.head().startsWith("HTTP/1.1 200")).length, { timeout: 20_000 }).toBe(60);

    await cli(server, "keys", "revoke", key.id);
    // Ended cleanly: the terminating chunk came (the kept-alive socket may stay open for another request).
    await expect.poll(() => streams.filter((s) => s.body().complete).length, { timeout: 30_000 }).toBe(60);
    for (const s of streams) {
      const { text } = s.body();
      // The revoked frame last.
      expect(text).toMatch(/event: revoked\ndata: \{"reason":"key_revoked",[^\n]*\}\n\n$/);
    }
  });

  it("an EventSource gets the revoked event, then stops for good: its reconnect is refused", async () => {
    const key = await tenantKey(server, "demo", ["read"]);
    const statuses: number[] = [];
    const es = new EventSource(`${server.url}/api/v1/tenants/demo/stream`, {
      fetch: async (input, init): Promise<FetchLikeResponse> => {
        const res = await fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${key.secret}` } });
        statuses.push(res.status);
        return res;
      },
    });
    open.push(es);
    const revoked: { reason: string }[] = [];
    es.addEventListener("revoked", (ev) => revoked.push(JSON.parse(ev.data)));
    await expect.poll(() => es.readyState, { timeout: 10_000 }).toBe(EventSource.OPEN);

    await cli(server, "keys", "revoke", key.id);
    await expect.poll(() => es.readyState, { timeout: 30_000 }).toBe(EventSource.CLOSED);
    expect(revoked).toEqual([expect.objectContaining({ reason: "key_revoked" })]);
    expect(statuses).toEqual([200, 401]);
  });

  it("ends a console page stream when its key is revoked", async () => {
    const key = await tenantKey(server, "demo", ["read"]);
    const cookie = await sessionCookie(server, key.secret);
    const page = await stream("/t/demo/live", { cookie });
    await cli(server, "keys", "revoke", key.id);
    await ended(page);
    expect(revokedWith(page)?.reason).toBe("key_revoked");
    expect((await fetch(`${server.url}/t/demo/live`, { headers: { cookie } })).status).toBe(401);
  });

  it("`tenants disable` ends the tenant's streams, whoever opened them, but not the admin stream of every tenant", async () => {
    const acme = await tenantKey(server, "acme", ["read", "publish", "work"]);
    const own = await stream("/api/v1/tenants/acme/stream", bearer(acme.secret));
    const byAdmin = await stream("/api/v1/tenants/acme/stream", bearer(ADMIN_KEY));
    const commands = await stream("/api/v1/tenants/acme/workers/w-1/commands", bearer(acme.secret));
    const page = await stream("/t/acme/live", { cookie: await sessionCookie(server, acme.secret) });
    const everyTenant = await stream("/api/v1/stream", bearer(ADMIN_KEY));
    const demo = await stream("/api/v1/tenants/demo/stream", bearer(ADMIN_KEY));

    expect(await cliProcess(server, "tenants", "disable", "acme")).toMatch(/disabled tenant acme/);
    await Promise.all([own, byAdmin, commands, page].map(ended));
    for (const s of [own, byAdmin, commands, page]) expect(revokedWith(s)?.reason).toBe("tenant_disabled");

    const refused = await publish(server, "acme", { type: "note.refused" }, { key: acme.secret });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: "tenant_disabled", message: 'tenant "acme" is disabled' });
    expect((await api(server, "/api/v1/tenants/acme/stream")).status).toBe(403);

    const note = await publish(server, "demo", { type: "note.still-live" });
    await everyTenant.until((s) => s.ids().includes(note.body.ids[0]));
    await demo.until((s) => s.ids().includes(note.body.ids[0]));
    expect(everyTenant.closed || demo.closed).toBe(false);

    await cli(server, "tenants", "enable", "acme");
    // Enabled again: at once on SQLite, once a PostgreSQL node has heard the change.
    await expect.poll(async () => (await publish(server, "acme", { type: "note.again" }, { key: acme.secret })).status, { timeout: 30_000 }).toBe(201);
  });
});
