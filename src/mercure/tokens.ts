import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from "jose";
import { TurnBudget } from "../turn-budget.js";
import { invalidRequest, invalidToken } from "./auth-error.js";
import { grant0x, grant10, GrantError, type MercureGrant } from "./grant.js";
import { verificationKey, type MercureKeys } from "./keys.js";
import type { PresentedToken } from "./presented-token.js";

export { insufficientScope, invalidRequest, invalidToken, MercureAuthError, tokenRequired, type BearerError } from "./auth-error.js";
export { GRANT_LIMITS, MERCURE_DETAIL_TYPE, type MercureGrant, type MercureProtocol } from "./grant.js";
export type { MercureKey, MercureKeys } from "./keys.js";
export { COOKIE_0X, COOKIE_1_0, presentedToken, type PresentedToken, type TokenSource } from "./presented-token.js";

/** `at+jwt`, or `application/at+jwt`, in any case (RFC 7515 §4.1.9, RFC 9068). */
const isAccessTokenType = (typ: unknown): boolean => typeof typ === "string" && typ.toLowerCase().replace(/^application\//, "") === "at+jwt";

/**
 * Verifies a Mercure token with the tenant's key for `role` and returns
 * what it grants. The protocol is the token's shape: typed `at+jwt`, or
 * carrying `authorization_details`, it is a 1.0 access token (it must then
 * be typed so, have `exp`, an `aud` holding the hub's resource identifier —
 * `keys.audience`, else `hubUrl` — and the configured issuer if one is set);
 * otherwise it is a 0.x token, whose `mercure` claim, if any, is the grant
 * (`exp` enforced when present). A token with neither grants nothing.
 *
 * Given a PresentedToken rather than its value, a 1.0 token from the query
 * parameter is refused (400 invalid_request): 1.0 forbids tokens in URLs.
 *
 * The grant's matchers are compiled within `turn`, the server's shared
 * budget (see MatcherCache).
 *
 * Throws MercureAuthError 401 invalid_token on any failure, the reason in
 * its message only.
 */
export async function verifyToken(
  token: string | PresentedToken,
  keys: MercureKeys,
  role: "publish" | "subscribe",
  hubUrl: URL,
  now: number = Date.now(),
  turn: TurnBudget = new TurnBudget(),
): Promise<MercureGrant> {
  const value = typeof token === "string" ? token : token.value;
  const key = role === "publish" ? keys.publisher : keys.subscriber;
  if (key === null) throw invalidToken(`this hub has no ${role === "publish" ? "publisher" : "subscriber"} key to verify it with`);

  // The shape picks the rules to verify by; the verification below covers these very bytes.
  let typed: boolean;
  let shaped10: boolean;
  try {
    typed = isAccessTokenType(decodeProtectedHeader(value).typ);
    shaped10 = typed || decodeJwt(value).authorization_details !== undefined;
  } catch {
    throw invalidToken("not a JWT in compact serialization");
  }
  if (shaped10 && !typed) throw invalidToken('a token with authorization_details must be a JWT access token (typ "at+jwt")');
  if (shaped10 && typeof token !== "string" && token.from === "query") {
    throw invalidRequest("a 1.0 access token may not travel in the URL: send it in the Authorization header or the __Secure-mercure_access_token cookie");
  }

  const { key: verifyWith, algorithms } = verificationKey(key);
  const options: JWTVerifyOptions = { algorithms, currentDate: new Date(now) };
  if (shaped10) {
    options.requiredClaims = ["exp"];
    options.audience = keys.audience ?? hubUrl.href;
    if (keys.issuer !== null) options.issuer = keys.issuer;
  }
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(value, verifyWith, options));
  } catch (err) {
    throw invalidToken(err instanceof errors.JOSEError ? `${err.code}: ${err.message}` : "verification failed");
  }

  try {
    return await (shaped10 ? grant10 : grant0x)(claims, { hubUrl, turn });
  } catch (err) {
    if (err instanceof GrantError) throw invalidToken(err.message);
    throw err;
  }
}
