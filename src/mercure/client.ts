import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { ApiError } from "../http/errors.js";
import type { ApiKey, KeyStore } from "../store/keys.js";
import { mercureKeys, type MercureSettings } from "../store/mercure-settings.js";
import type { TenantStore } from "../store/tenants.js";
import type { TurnBudget } from "../turn-budget.js";
import type { TopicMatcher } from "./selectors.js";
import { insufficientScope, invalidToken, MercureAuthError, presentedToken, tokenRequired, verifyToken, type MercureGrant } from "./tokens.js";

/** What the hub needs of a tenant's Mercure settings, with the environment's say on top. */
export interface MercureConfig {
  settings(tenant: string): MercureSettings;
}

/** Who is at the hub: a Switchboard API key, a Mercure token's holder, or nobody. */
export interface MercureClient {
  /** The API key, when one was presented: its revocation ends the client's streams. */
  key: ApiKey | null;
  grant: MercureGrant | null;
  /** Who the publish allowance is counted against. */
  rateKey: string;
  /** What private updates it may receive: equal scopes may share a stream group. */
  scope: string;
  canPublish(topic: string): boolean;
  /** Whether it may receive a private update with these topics (any one suffices). */
  mayReceive(topics: readonly string[]): boolean;
  expiresAt: number | null;
  /** What its subscription events carry as `payload` for this matcher (its token's), if anything. */
  payloadFor(matcher: TopicMatcher): unknown;
}

export interface ClientDeps {
  keys: KeyStore;
  tenants: TenantStore;
  mercure: MercureConfig;
  /** The loop's shared budget: a token's matchers are compiled within it. */
  turn: TurnBudget;
}

/**
 * Identifies the client of a Mercure request. An `Authorization` header is
 * used when present (a cookie or query token is then ignored, as both
 * drafts say): a Switchboard API key, or a JWT. Without one, the 0.x
 * `authorization` query parameter, then either draft's cookie. With none
 * of them, the client is anonymous: a publisher gets 401, a subscriber only
 * public updates, where the tenant allows anonymous subscribers at all.
 */
export async function identify(c: Context, deps: ClientDeps, tenant: string, role: "publish" | "subscribe", hubUrl: URL): Promise<MercureClient> {
  if (!deps.tenants.exists(tenant)) throw new ApiError(404, "tenant_not_found", `no tenant "${tenant}"`);
  if (deps.tenants.isDisabled(tenant)) throw new ApiError(403, "tenant_disabled", `tenant "${tenant}" is disabled`);
  try {
    const token = presentedToken({ header: (name) => c.req.header(name), query: (name) => c.req.query(name), cookie: (name) => getCookie(c, name) });
    const settings = deps.mercure.settings(tenant);
    if (token?.kind === "other") {
      if (token.from !== "header") throw invalidToken("a Switchboard API key goes in the Authorization header");
      return keyClient(deps, token.value, tenant, role);
    }
    if (token) return grantClient(await verifyToken(token, mercureKeys(settings), role, hubUrl, Date.now(), deps.turn), tenant);
    if (role === "publish") throw tokenRequired("publishing needs credentials: a Mercure JWT or a Switchboard API key with the publish scope");
    if (!settings.anonymous) throw tokenRequired("this hub takes no anonymous subscribers: present a Mercure JWT (header or cookie) or a Switchboard API key");
  } catch (err) {
    if (err instanceof MercureAuthError) throw authError(err);
    throw err;
  }
  return {
    key: null,
    grant: null,
    rateKey: `mercure-anonymous:${tenant}`,
    scope: "anonymous",
    canPublish: () => false,
    mayReceive: () => false,
    expiresAt: null,
    payloadFor: () => undefined,
  };
}

/** A refusal for the token as the API answers it: the JSON error body, and RFC 6750's challenge. */
export function authError(err: MercureAuthError): ApiError {
  const code = err.status === 400 ? "invalid_request" : err.status === 401 ? "unauthorized" : "forbidden";
  return new ApiError(err.status, code, err.message, undefined, { "WWW-Authenticate": err.challenge });
}

function keyClient(deps: ClientDeps, secret: string, tenant: string, role: "publish" | "subscribe"): MercureClient {
  const key = deps.keys.verify(secret);
  if (!key) throw invalidToken("unknown or revoked API key");
  const scope = role === "publish" ? "publish" : "read";
  if (!key.scopes.has(scope)) throw insufficientScope(`this key lacks the "${scope}" scope`);
  if (key.tenant !== null && key.tenant !== tenant) throw new ApiError(403, "forbidden", `this key is bound to another tenant and cannot reach "${tenant}"`);
  // A key that reads a tenant reads all of its history, private updates included: so does its stream.
  return { key, grant: null, rateKey: key.id, scope: "key", canPublish: () => true, mayReceive: () => true, expiresAt: null, payloadFor: () => undefined };
}

function grantClient(grant: MercureGrant, tenant: string): MercureClient {
  return {
    key: null,
    grant,
    rateKey: `mercure:${tenant}:${grant.subject ?? ""}`,
    scope: `jwt:${grant.subscribeScope}`,
    canPublish: (topic) => grant.canPublish(topic),
    mayReceive: (topics) => topics.some((t) => grant.canSubscribe(t)),
    expiresAt: grant.expiresAt,
    payloadFor: (matcher) => grant.payloadFor(matcher.type, matcher.source),
  };
}

