/** The error codes of RFC 6750's Bearer challenge, as Mercure uses them ("Error Responses"). */
export type BearerError = "invalid_request" | "invalid_token" | "insufficient_scope";

const REALM = 'Bearer realm="mercure"';

/**
 * A refusal of a Mercure request for its token: the status, the RFC 6750
 * error code and the `WWW-Authenticate` value to send. The challenge never
 * says why a token failed beyond its code (so a prober learns nothing from
 * it); `message` may, and is safe to log: it never holds the token.
 */
export class MercureAuthError extends Error {
  override readonly name = "MercureAuthError";
  /** The `WWW-Authenticate` header value, e.g. `Bearer realm="mercure", error="invalid_token"`. */
  readonly challenge: string;

  constructor(
    readonly status: 400 | 401 | 403,
    message: string,
    readonly error?: BearerError,
  ) {
    super(message);
    this.challenge = error === undefined ? REALM : `${REALM}, error="${error}"`;
  }
}

/** 401 without an error code: the operation needs a token and none was presented. */
export const tokenRequired = (message = "this needs a Mercure token: an Authorization: Bearer header or the hub's cookie"): MercureAuthError =>
  new MercureAuthError(401, message);

/** 401 invalid_token: a token was presented and failed validation; `reason` is for the log only. */
export const invalidToken = (reason: string): MercureAuthError => new MercureAuthError(401, `invalid Mercure token: ${reason}`, "invalid_token");

/** 403 insufficient_scope: a valid token that does not allow the operation (the routes raise it). */
export const insufficientScope = (description: string): MercureAuthError => new MercureAuthError(403, description, "insufficient_scope");

/** 400 invalid_request: the token's presentation is malformed (e.g. `Authorization: Bearer` with nothing after it). */
export const invalidRequest = (description: string): MercureAuthError => new MercureAuthError(400, description, "invalid_request");
