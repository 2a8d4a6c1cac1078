import { createHash, createHmac, randomBytes } from "node:crypto";
import { expect } from "vitest";
import { api, type TestServer } from "./server.js";
import { tenantKey, writeAccess } from "./tenants.js";

/** The session secret of servers whose console sessions a test makes itself (see sessionWithoutRead). */
export const SESSION_SECRET = "mercure-console-test-session-secret-0123456789";

/** Publishes one update to a tenant's hub as a Mercure publisher does (form-encoded, the admin key); resolves with the update's id. */
export async function publishUpdate(server: TestServer, tenant: string, form: Record<string, string | string[]>): Promise<string> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const v of [value].flat()) body.append(name, v);
  const res = await api(server, `/api/v1/tenants/${tenant}/mercure`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
}

/**
 * The cookie of a console session whose key lacks the read scope, on a
 * server started with SESSION_SECRET. Signing in refuses such a key, and a
 * key's scopes never change, so no such session arises: it is made here as
 * the database would hold one, its cookie signed as the server signs, to
 * show the Mercure page keeps a private update's data from it whatever
 * lets it in.
 */
export async function sessionWithoutRead(server: TestServer, tenant: string): Promise<string> {
  const key = await tenantKey(server, tenant, ["publish"]);
  const id = `ses_${randomBytes(8).toString("hex")}`;
  const token = randomBytes(24).toString("base64url");
  const now = Date.now();
  await writeAccess(
    server,
    "INSERT INTO console_sessions (id, token_hash, key_id, created_at, last_seen_at, expires_at, user_agent, address) VALUES (?, ?, ?, ?, ?, ?, '', '')",
    id,
    createHash("sha256").update(token).digest("hex"),
    key.id,
    now,
    now,
    now + 3_600_000,
  );
  const payload = `${id}.${token}`;
  return `sb_session=${payload}.${createHmac("sha256", SESSION_SECRET).update(payload).digest("base64url")}`;
}
