import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { ApiError } from "../http/errors.js";
import type { ApiKey, KeyStore } from "../store/keys.js";
import type { TenantStore } from "../store/tenants.js";
import type { MatcherType, TopicMatcher } from "./selectors.js";

/** What a verified Mercure token allows (see tokens.ts). */
export interface MercureGrant {
  readonly protocol: "0.x" | "1.0";
  readonly subject: string | null;
  /** ms since the epoch; the stream is closed then. */
  readonly expiresAt: number | null;
  canPublish(topic: string): boolean;
  canSubscribe(topic: string): boolean;
  /** A stable text of what the grant allows to subscribe: streams with equal scopes may share a group. */
  readonly subscribeScope: string;
  /** What the token attaches to a subscription with this matcher (0.x mercure.payload; 1.0 the first matching detail's). */
  payloadFor(matcherType: MatcherType, matcher: string): unknown;
}

/** Verifies Mercure tokens against a tenant's keys; throws ApiError (401 invalid_token) when one fails. */
export interface MercureTokens {
  verify(tenant: string, token: string, role: "publish" | "subscribe", hubUrl: URL): Promise<MercureGrant>;
  /** Whether the tenant lets subscribers in without credentials (public updates only). */
  anonymousAllowed(tenant: string): boolean;
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
  tokens: MercureTokens;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
/** A JWS in compact serialization: three base64url parts. Switchboard's own keys (`sk_…`) never look like one. */
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** The cookie names of Mercure 0.x and 1.0. */
export const TOKEN_COOKIES = ["mercureAuthorization", "__Secure-mercure_access_token"] as const;

/** RFC 6750 challenges. */
const challenge = (error?: string) => ({ "WWW-Authenticate": error ? `Bearer realm="mercure", error="${error}"` : 'Bearer realm="mercure"' });

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
  const header = c.req.header("authorization");
  let token: string | undefined;
  if (header !== undefined) {
    const presented = BEARER.exec(header)?.[1];
    if (!presented) throw new ApiError(400, "invalid_request", 'malformed Authorization header: expected "Bearer <token>"', undefined, challenge("invalid_request"));
    if (!JWS.test(presented)) return keyClient(deps, presented, tenant, role);
    token = presented;
  } else {
    token = c.req.query("authorization") || TOKEN_COOKIES.map((name) => getCookie(c, name)).find((v) => v);
  }
  if (token !== undefined) return grantClient(await deps.tokens.verify(tenant, token, role, hubUrl), tenant);
  if (role === "publish") {
    throw new ApiError(401, "unauthorized", "publishing needs credentials: a Mercure JWT or a Switchboard API key with the publish scope", undefined, challenge());
  }
  if (!deps.tokens.anonymousAllowed(tenant)) {
    throw new ApiError(401, "unauthorized", "this hub takes no anonymous subscribers: present a Mercure JWT (header or cookie) or a Switchboard API key", undefined, challenge());
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

function keyClient(deps: ClientDeps, secret: string, tenant: string, role: "publish" | "subscribe"): MercureClient {
  const key = deps.keys.verify(secret);
  if (!key) throw new ApiError(401, "unauthorized", "unknown or revoked API key", undefined, challenge("invalid_token"));
  const scope = role === "publish" ? "publish" : "read";
  if (!key.scopes.has(scope)) throw new ApiError(403, "forbidden", `this key lacks the "${scope}" scope`, undefined, challenge("insufficient_scope"));
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

/** 403 for a token that does not allow what was asked (RFC 6750 insufficient_scope). */
export function insufficientScope(message: string): ApiError {
  return new ApiError(403, "forbidden", message, undefined, challenge("insufficient_scope"));
}

/** Tokens for a server without Mercure keys configured: every JWT is refused. */
export const noTokens: MercureTokens = {
  verify: () => Promise.reject(new ApiError(401, "unauthorized", "this tenant has no Mercure keys configured", undefined, challenge("invalid_token"))),
  anonymousAllowed: () => false,
};
