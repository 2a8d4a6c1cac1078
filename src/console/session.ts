import { createHmac, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { ApiKey, KeyStore } from "../store/keys.js";

export const SESSION_COOKIE = "sb_session";

/**
 * Console sessions: a login exchanges an API key for a signed, HttpOnly,
 * SameSite cookie holding the key's id and the login time — never the key.
 * Each request looks the key up again, so revoking it ends its sessions.
 */
export class Sessions {
  constructor(
    private readonly secret: string,
    private readonly keys: KeyStore,
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  start(c: Context, key: ApiKey): void {
    const value = this.#sign(`${key.id}.${this.clock()}`);
    setCookie(c, SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: "Lax",
      path: "/",
      maxAge: Math.floor(this.maxAgeMs / 1000),
      // Behind a TLS-terminating proxy the request arrives as http: trust its X-Forwarded-Proto.
      secure: new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https",
    });
  }

  end(c: Context): void {
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
  }

  /** The session's live key and its id (for CSRF), or null when absent, forged, expired or revoked. */
  current(c: Context): { key: ApiKey; id: string } | null {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (!cookie) return null;
    const dot = cookie.lastIndexOf(".");
    const payload = cookie.slice(0, dot);
    if (dot < 0 || !safeEqual(cookie, this.#sign(payload))) return null;
    const [keyId, issued] = payload.split(".");
    if (this.clock() - Number(issued) > this.maxAgeMs) return null;
    const key = this.keys.byId(keyId);
    return key ? { key, id: payload } : null;
  }

  /** The CSRF token of a session: bound to it, so a token from another session is refused. */
  csrfToken(sessionId: string): string {
    return this.#mac(`csrf:${sessionId}`);
  }

  checkCsrf(sessionId: string, token: string | undefined): boolean {
    return token !== undefined && safeEqual(token, this.csrfToken(sessionId));
  }

  #sign(payload: string): string {
    return `${payload}.${this.#mac(payload)}`;
  }

  #mac(text: string): string {
    return createHmac("sha256", this.secret).update(text).digest("base64url");
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
