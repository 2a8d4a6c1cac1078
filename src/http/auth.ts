import { createMiddleware } from "hono/factory";
import { isAdmin, type KeyStore, type Scope } from "../store/keys.js";
import type { TenantStore } from "../store/tenants.js";
import type { AppEnv } from "./env.js";
import { ApiError } from "./errors.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const ADMIN_ONLY = 'this route spans every tenant: it needs an admin key (one bound to no tenant, with the "admin" scope)';

export interface AuthDeps {
  keys: KeyStore;
  tenants: TenantStore;
}

/**
 * Middleware factory: the request must carry a live key with `scope`, and,
 * on routes with a `:tenant` parameter, the key must reach that tenant;
 * `adminOnly` routes (across every tenant) need an admin key as well.
 * Wrong or missing key → 401; missing scope or another tenant's key → 403
 * (never the data); a tenant that does not exist → 404, a disabled one 403.
 */
export function requireKey(deps: AuthDeps, scope: Scope, options: { adminOnly?: boolean } = {}) {
  return createMiddleware<AppEnv>(async function authorize(c, next) {
    const header = c.req.header("authorization");
    if (!header?.trim()) {
      throw new ApiError(401, "unauthorized", "missing API key: send Authorization: Bearer <key>", undefined, { "WWW-Authenticate": "Bearer" });
    }
    const secret = BEARER.exec(header)?.[1];
    if (!secret) {
      throw new ApiError(401, "unauthorized", 'malformed Authorization header: expected "Bearer <key>", the key alone after the word Bearer', undefined, {
        "WWW-Authenticate": 'Bearer error="invalid_request"',
      });
    }
    const key = deps.keys.verify(secret);
    if (!key) throw new ApiError(401, "unauthorized", "unknown or revoked API key", undefined, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    if (!key.scopes.has(scope)) throw new ApiError(403, "forbidden", `this key lacks the "${scope}" scope`);
    if (options.adminOnly && !isAdmin(key)) throw new ApiError(403, "forbidden", ADMIN_ONLY);
    const tenant = c.req.param("tenant");
    if (tenant !== undefined) {
      if (key.tenant !== null && key.tenant !== tenant) throw new ApiError(403, "forbidden", `this key is bound to another tenant and cannot reach "${tenant}"`);
      if (!deps.tenants.exists(tenant)) throw new ApiError(404, "tenant_not_found", `no tenant "${tenant}"`);
      if (deps.tenants.isDisabled(tenant)) throw new ApiError(403, "tenant_disabled", `tenant "${tenant}" is disabled`);
    }
    c.set("key", key);
    await next();
  });
}
