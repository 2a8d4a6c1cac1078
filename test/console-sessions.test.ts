import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./support/database.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { SseClient } from "./support/sse-client.js";
import { tenantKey } from "./support/tenants.js";

/** Signs in through the login form with a user agent of our choosing (to find the session in `sessions list`); returns `name=value`. */
async function signIn(server: { url: string }, key: string, userAgent = "test-browser"): Promise<string> {
  const res = await fetch(`${server.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url, "user-agent": userAgent },
    body: new URLSearchParams({ key }),
  });
  expect(res.status).toBe(303);
  return res.headers.get("set-cookie")!.split(";")[0];
}

/** What a replayed cookie gets on the console: 200, or a redirect to the login. */
async function consoleWith(server: { url: string }, cookie: string, path = "/t/demo"): Promise<{ status: number; location: string | null }> {
  const res = await fetch(server.url + path, { headers: { cookie }, redirect: "manual" });
  await res.body?.cancel();
  return { status: res.status, location: res.headers.get("location") };
}

const SIGNED_OUT = { status: 302, location: "/login?next=%2Ft%2Fdemo" };

/** The id of the one session `sessions list` shows for this user agent. */
async function sessionIdOf(server: TestServer, userAgent: string): Promise<string> {
  const line = (await cli(server, "sessions", "list"))
    .split("\n")
    .filter((l) => l.endsWith(userAgent));
  expect(line).toHaveLength(1);
  return /^(ses_[0-9a-f]+)/.exec(line[0])![1];
}

describe("console sessions are kept on the server", () => {
  let server: TestServer;
  const open: SseClient[] = [];
  const page = async (cookie: string) => {
    const s = await SseClient.open(`${server.url}/t/demo/live`, { cookie });
    open.push(s);
    expect(s.status).toBe(200);
    return s;
  };
  const endedWith = async (stream: SseClient, reason: string) => {
    await stream.until((s) => s.closed, 30_000);
    const last = stream.messages.at(-1)!;
    expect(last.event).toBe("revoked");
    expect(JSON.parse(last.data).reason).toBe(reason);
  };

  beforeAll(async () => {
    server = await startTestServer({ ACCESS_CHECK_MS: "200" });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it("logout ends the session: a cookie captured before it opens nothing, and its open page ends; another session goes on", async () => {
    const key = await tenantKey(server, "demo", ["read"]);
    const captured = await signIn(server, key.secret);
    const elsewhere = await signIn(server, key.secret);
    expect(await consoleWith(server, captured)).toEqual({ status: 200, location: null });
    const livePage = await page(captured);
    const otherPage = await page(elsewhere);

    const logout = await fetch(`${server.url}/logout`, { method: "POST", redirect: "manual", headers: { cookie: captured, origin: server.url } });
    expect(logout.status).toBe(303);
    expect(logout.headers.get("set-cookie")).toMatch(/^sb_session=;.*Max-Age=0/);

    // The old cookie, replayed as an attacker would: signed out everywhere.
    expect(await consoleWith(server, captured)).toEqual(SIGNED_OUT);
    expect((await fetch(`${server.url}/t/demo/live`, { headers: { cookie: captured } })).status).toBe(401);
    await endedWith(livePage, "session_ended");

    // The same key's other session is untouched.
    expect(await consoleWith(server, elsewhere)).toEqual({ status: 200, location: null });
    expect(otherPage.closed).toBe(false);
  });

  it("`sessions list` shows who signed in from where; `sessions end` signs one out and ends its pages", async () => {
    const key = await tenantKey(server, "demo", ["read"]);
    const cookie = await signIn(server, key.secret, "listed-browser/1.0");
    const id = await sessionIdOf(server, "listed-browser/1.0");
    const row = (await cli(server, "sessions", "list", "--tenant", "demo"))
      .split("\n")
      .find((l) => l.startsWith(id))!;
    expect(row).toContain(key.id);
    expect(row).toContain("127.0.0.1");
    expect(await cli(server, "sessions", "list", "--tenant", "acme")).not.toContain(id);
    const livePage = await page(cookie);

    expect(await cli(server, "sessions", "end", id)).toMatch(`ended session ${id}`);
    await endedWith(livePage, "session_ended");
    expect(await consoleWith(server, cookie)).toEqual(SIGNED_OUT);
    expect(await cli(server, "sessions", "list")).not.toContain(id);
    await expect(cli(server, "sessions", "end", id)).rejects.toThrow(/no session with id/);
  });

  it("revoking a key ends its sessions", async () => {
    const key = await tenantKey(server, "demo", ["read"]);
    const cookie = await signIn(server, key.secret, "revoked-browser/1.0");
    const id = await sessionIdOf(server, "revoked-browser/1.0");
    expect(await cli(server, "keys", "revoke", key.id)).toMatch(/and ended its 1 console session$/);
    expect(await cli(server, "sessions", "list")).not.toContain(id);
    // At once on SQLite; a PostgreSQL node drops the session when it hears of the change.
    await expect.poll(() => consoleWith(server, cookie), { timeout: 30_000 }).toEqual(SIGNED_OUT);
  });

  it("a session past SESSION_MAX_AGE ends, open page included", async () => {
    const short = await startTestServer({ ACCESS_CHECK_MS: "200", SESSION_MAX_AGE: "2s" });
    try {
      const cookie = await signIn(short, (await tenantKey(short, "demo", ["read"])).secret);
      const livePage = await SseClient.open(`${short.url}/t/demo/live`, { cookie });
      open.push(livePage);
      await endedWith(livePage, "session_expired");
      expect(await consoleWith(short, cookie)).toEqual(SIGNED_OUT);
    } finally {
      await short.dispose();
    }
  });
});

describe("the session secret", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-secret-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is generated once and kept in the database, so a restart keeps operators signed in; SESSION_SECRET overrides it", async () => {
    let server = await startTestServer({}, dir);
    const cookie = await signIn(server, (await tenantKey(server, "demo", ["read"])).secret);
    await server.close();

    server = await startTestServer({}, dir);
    try {
      expect(await consoleWith(server, cookie)).toEqual({ status: 200, location: null });
    } finally {
      await server.close();
    }

    // A configured secret replaces the stored one: cookies signed with the stored one no longer hold…
    const configured = { SESSION_SECRET: "s".repeat(40) };
    server = await startTestServer(configured, dir);
    let signedWithConfigured: string;
    try {
      expect(await consoleWith(server, cookie)).toEqual(SIGNED_OUT);
      signedWithConfigured = await signIn(server, (await tenantKey(server, "demo", ["read"])).secret);
    } finally {
      await server.close();
    }
    // …and those signed with it hold across restarts that keep it.
    server = await startTestServer(configured, dir);
    try {
      expect(await consoleWith(server, signedWithConfigured)).toEqual({ status: 200, location: null });
    } finally {
      await server.close();
    }
  });
});
