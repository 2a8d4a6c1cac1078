import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scope } from "../src/store/keys.js";
import { logHead } from "./support/history-pages.js";
import { ADMIN_KEY, api, publish, startTestServer, type TestServer } from "./support/server.js";
import { createKey } from "./support/tenants.js";

/**
 * One model for admin keys: an admin key is bound to no tenant and holds
 * the admin scope, and its scopes are checked like any key's. Every route
 * across tenants needs an admin key (a tenant's key, or an all-tenant key
 * without the admin scope, is refused) plus its own scope; an admin key
 * with only read reads everything and changes nothing. Both tables are
 * checked against the app's own route list, so a new admin or write route
 * cannot slip past them.
 */

type Expect = "ok" | "forbidden";

/** Every route that spans tenants (the rest are per tenant, public, or the login itself). */
const ADMIN_ROUTES = [
  { method: "GET", path: "/api/v1/stream", console: false },
  { method: "GET", path: "/api/v1/calls", console: false },
  { method: "GET", path: "/admin", console: true },
  { method: "GET", path: "/admin/live", console: true },
];
const PUBLIC = ["GET /", "GET /login", "POST /login", "POST /logout", "GET /healthz", "GET /metrics", "GET /switch", "GET /favicon.ico", "GET /favicon.svg"];
// /.well-known/mercure is the Mercure hub of the one tenant SWITCHBOARD_MERCURE_TENANT names.
const perTenant = (path: string) =>
  path.startsWith("/api/v1/tenants/:tenant") || path === "/t/:tenant" || path.startsWith("/t/:tenant/") || path === "/.well-known/mercure" || path.startsWith("/.well-known/mercure/");

/** The entities the write routes name, created before the table runs. */
const PARAMS: Record<string, string> = { tenant: "demo", workflow: "wf-1", channel: "ch-1", session: "s-1", tool: "run-1", worker: "runner-1" };
const concrete = (path: string) => path.replace(/:([a-z]+)/g, (_, name: string) => PARAMS[name]);

describe("admin keys and the routes across tenants", () => {
  let server: TestServer;
  const keys: Record<string, string> = {};
  /** Who holds which key: what each may do on the routes across tenants. */
  const holders: { name: string; scopes: Scope[]; tenant: string | null; admin: Expect; console: boolean }[] = [
    { name: "admin", scopes: ["read", "publish", "control", "work", "admin"], tenant: null, admin: "ok", console: true },
    { name: "admin-read", scopes: ["read", "admin"], tenant: null, admin: "ok", console: true },
    { name: "all-tenants-no-admin", scopes: ["read", "publish", "control", "work"], tenant: null, admin: "forbidden", console: true },
    { name: "admin-no-read", scopes: ["publish", "admin"], tenant: null, admin: "forbidden", console: false },
    { name: "tenant-everything", scopes: ["read", "publish", "control", "work"], tenant: "demo", admin: "forbidden", console: true },
  ];

  /** Signs in as the login form does; returns the cookie and the page's CSRF token. */
  const signIn = async (key: string) => {
    const login = await fetch(`${server.url}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
      body: new URLSearchParams({ key }),
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const html = await (await fetch(`${server.url}/t/demo`, { headers: { cookie } })).text();
    return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(html)![1] };
  };
  /** The status of a GET, without reading a stream's body. */
  const statusOf = async (path: string, headers: Record<string, string>) => {
    const res = await fetch(server.url + path, { headers, redirect: "manual" });
    await res.body?.cancel();
    return res.status;
  };

  beforeAll(async () => {
    // With the well-known Mercure hub on, so that its routes are checked like every other.
    server = await startTestServer({ SWITCHBOARD_MERCURE_TENANT: "demo" });
    for (const h of holders) keys[h.name] = h.name === "admin" ? ADMIN_KEY : (await createKey(server, { tenant: h.tenant, scopes: h.scopes, label: h.name })).secret;
    // What the write routes act on, so that a refusal is about the key, not a missing entity.
    const seeded = await publish(server, "demo", [
      { type: "workflow.started", subject: "wf-1", data: { name: "Export", stages: ["one"], worker: "runner-1" } },
      { type: "channel.connect_requested", subject: "ch-1", data: { platform: "slack", name: "Support", kind: "channels" } },
      { type: "chat.session_started", subject: "s-1", data: { agent: "helper-bot" } },
      { type: "chat.message", subject: "s-1", data: { message_id: "m-1", text: "hi", worker: "helper-bot" } },
      { type: "tool.started", subject: "run-1", data: { session_id: "s-1", message_id: "a-1", reply_to: "m-1", name: "lookup" } },
    ]);
    expect(seeded.status).toBe(201);
  });
  afterAll(() => server?.dispose());

  it("lists every route across tenants in its table", () => {
    const acrossTenants = server.routes.filter((r) => !perTenant(r.path) && !PUBLIC.includes(`${r.method} ${r.path}`) && !r.path.startsWith("/assets/"));
    expect(acrossTenants.map((r) => `${r.method} ${r.path}`).sort()).toEqual(ADMIN_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  for (const holder of holders) {
    it(`${holder.name}: ${holder.admin === "ok" ? "reaches" : "is refused"} every route across tenants`, async () => {
      const session = holder.console ? await signIn(keys[holder.name]) : null;
      for (const route of ADMIN_ROUTES) {
        if (route.console && !session) continue;
        const headers: Record<string, string> = route.console ? { cookie: session!.cookie } : { authorization: `Bearer ${keys[holder.name]}` };
        const status = await statusOf(route.path, headers);
        expect(status, `${route.method} ${route.path}`).toBe(holder.admin === "ok" ? 200 : 403);
      }
      if (!session) {
        // Without read there is no console session at all.
        const login = await fetch(`${server.url}/login`, {
          method: "POST",
          redirect: "manual",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
          body: new URLSearchParams({ key: keys[holder.name] }),
        });
        expect(login.status).toBe(401);
      }
    });
  }

  it("says why a key is refused on a route across tenants", async () => {
    const message = async (key: string) => (await (await api(server, "/api/v1/calls", { key })).json()).message;
    expect(await message(keys["all-tenants-no-admin"])).toMatch(/needs an admin key \(one bound to no tenant, with the "admin" scope\)/);
    expect(await message(keys["tenant-everything"])).toMatch(/needs an admin key/);
    expect(await message(keys["admin-no-read"])).toBe('this key lacks the "read" scope');
    // Without the admin scope, an all-tenant key still reads each tenant on its own routes.
    expect(await statusOf("/api/v1/tenants/demo/calls", { authorization: `Bearer ${keys["all-tenants-no-admin"]}` })).toBe(200);
    expect(await statusOf("/t/demo", { cookie: (await signIn(keys["all-tenants-no-admin"])).cookie })).toBe(200);
  });

  it("an admin key with only read changes nothing: every write route, API and console, answers 403", async () => {
    // The voice provider's webhooks take no key: their signature is their authentication (retell-webhook.test.ts).
    const writes = server.routes.filter((r) => (r.method === "POST" || r.method === "DELETE") && perTenant(r.path) && !r.path.includes("/webhooks/"));
    expect(writes.length).toBeGreaterThan(10);
    const session = await signIn(keys["admin-read"]);
    const head = await logHead(server);
    for (const route of writes) {
      const path = concrete(route.path);
      const res = route.path.startsWith("/api/") || route.path.startsWith("/.well-known/")
        ? await api(server, path, { method: route.method, key: keys["admin-read"], headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "note.added" }) })
        : await fetch(server.url + path, {
            method: "POST",
            redirect: "manual",
            headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url, cookie: session.cookie },
            body: new URLSearchParams({ _csrf: session.csrf, platform: "slack", name: "Sales", agent: "helper-bot", text: "hello" }),
          });
      const body = await res.text();
      expect(res.status, `${route.method} ${path}: ${body.slice(0, 200)}`).toBe(403);
      expect(body, `${route.method} ${path}`).toMatch(/lacks the \\?"(publish|control)\\?" scope|no control scope/);
    }
    // Being a worker is not reading either.
    const worker = await api(server, `/api/v1/tenants/demo/workers/runner-1/commands`, { key: keys["admin-read"] });
    expect(worker.status).toBe(403);
    expect(await logHead(server)).toBe(head);
  });
});
