import { invalidRequest } from "./auth-error.js";

/** What presentedToken reads a request through (a Hono context adapts to it in one line each). */
export interface TokenSource {
  header(name: string): string | undefined;
  query(name: string): string | undefined;
  cookie(name: string): string | undefined;
}

/**
 * A token as the request carried it. `kind: "other"` is a value that is not
 * a JWS in compact serialization (three base64url parts): a Switchboard API
 * key (`sb_…`), to authenticate as one rather than verify as a JWT.
 */
export interface PresentedToken {
  kind: "jwt" | "other";
  value: string;
  from: "header" | "query" | "cookie";
}

/** The 0.x cookie name, and the 1.0 one (`__Secure-` makes browsers keep it off plain HTTP). */
export const COOKIE_0X = "mercureAuthorization";
export const COOKIE_1_0 = "__Secure-mercure_access_token";

// The scheme (any case), spaces, and one token without spaces: RFC 6750's b64token, or an API key, whose
// characters the API's own auth does not restrict either (an admin key is chosen by the deployment).
const BEARER = /^\s*bearer +(\S+)\s*$/i;
const SCHEME_ONLY = /^\s*bearer\s*$/i;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The token of a request, by the precedence both protocols set: the
 * `Authorization: Bearer` header first (a cookie or query parameter beside
 * it is ignored, never an error: cookies are ambient); else the
 * `authorization` query parameter (0.x; a 1.0 token there is refused by
 * verifyToken when given this result); else the cookie, the 1.0 name before
 * the 0.x one. Null when the request carries none (an empty cookie counts as
 * none: it is what a cleared cookie leaves).
 *
 * Throws MercureAuthError 400 invalid_request for a malformed presentation:
 * an Authorization header that is not `Bearer <token>`, or an empty
 * `authorization` parameter.
 */
export function presentedToken(req: TokenSource): PresentedToken | null {
  const header = req.header("authorization");
  if (header !== undefined) {
    const bearer = BEARER.exec(header);
    if (!bearer) {
      throw invalidRequest(
        SCHEME_ONLY.test(header)
          ? "the Authorization header has no token after Bearer"
          : 'the Authorization header must be "Bearer <token>": the Bearer scheme, a space and the token alone',
      );
    }
    return tagged(bearer[1], "header");
  }
  const query = req.query("authorization");
  if (query !== undefined) {
    if (query.trim() === "") throw invalidRequest("the authorization query parameter is empty");
    return tagged(query.trim(), "query");
  }
  for (const name of [COOKIE_1_0, COOKIE_0X]) {
    const cookie = req.cookie(name)?.trim();
    if (cookie) return tagged(cookie, "cookie");
  }
  return null;
}

const tagged = (value: string, from: PresentedToken["from"]): PresentedToken => ({ kind: COMPACT_JWS.test(value) ? "jwt" : "other", value, from });
