import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { ApiKey, KeyStore } from "../store/keys.js";
import type { SessionStore } from "../store/sessions.js";

export const SESSION_COOKIE = "sb_session";

/** How stale a session's "last seen" may get: at most one write per session per minute, whatever it requests. */
const SEEN_EVERY_MS = 60_000;

/** A signed-in console session, as a request sees it. */
export interface CurrentSession {
  key: ApiKey;
  /** The session's public id (as `sessions list` shows it): what its page streams are watched by. */
  id: string;
  /** Its CSRF token, bound to this session. */
  csrf: string;
}

/** Who signed in from where, for `sessions list`. */
export interface Client {
  userAgent: string;
  address: string;
}

/**
 * Console sessions, kept on the server: a login exchanges an API key for a
 * session row (its key, when it was made, last seen, when it expires) and a
 * signed, HttpOnly, SameSite cookie naming it together with a random token
 * of which only the hash is stored. Each request looks the session and its
 * key up again, so a logout, `sessions end` or revoking the key makes every
 * copy of the cookie worthless at once.
 */
export class Sessions {
  /** Sessions whose last-seen write is on its way, so concurrent requests send one. */
  readonly #seenPending = new Set<string>();

  constructor(
    private readonly secret: string,
    private readonly keys: KeyStore,
    private readonly store: SessionStore,
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Stores a new session for `key` and sets its cookie; resolves once the session is durable. */
  async start(c: Context, key: ApiKey, client: Client): Promise<void> {
    const id = `ses_${randomBytes(8).toString("hex")}`;
    const token = randomBytes(24).toString("base64url");
    const now = this.clock();
    await this.store.write({
      op: "start",
      session: {
        id,
        tokenHash: hashToken(token),
        keyId: key.id,
        createdAt: now,
        lastSeenAt: now,
        expiresAt: now + this.maxAgeMs,
        // Display only (`sessions list` prints them to a terminal): bounded, without control characters.
        userAgent: printable(client.userAgent, 200),
        address: printable(client.address, 100),
      },
    });
    setCookie(c, SESSION_COOKIE, this.#sign(`${id}.${token}`), {
      httpOnly: true,
      sameSite: "Lax",
      path: "/",
      maxAge: Math.floor(this.maxAgeMs / 1000),
      // Behind a TLS-terminating proxy the request arrives as http: trust its X-Forwarded-Proto.
      secure: new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https",
    });
  }

  /** Ends the request's session on the server and clears its cookie; returns the ended session's id, or null when there was none. */
  async end(c: Context): Promise<string | null> {
    const session = this.#read(c);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    if (!session) return null;
    await this.store.write({ op: "end", id: session.id });
    return session.id;
  }

  /** The request's session and its live key, or null when absent, forged, ended, expired or its key revoked. */
  current(c: Context): CurrentSession | null {
    const session = this.#read(c);
    if (!session) return null;
    const row = this.store.find(session.id);
    const now = this.clock();
    if (!row || row.expiresAt <= now || !safeEqual(row.tokenHash, hashToken(session.token))) return null;
    const key = this.keys.byId(row.keyId);
    if (!key) return null;
    if (now - row.lastSeenAt >= SEEN_EVERY_MS && !this.#seenPending.has(row.id)) {
      this.#seenPending.add(row.id);
      // Display only: a lost update is harmless, so nothing waits for it.
      void this.store
        .write({ op: "seen", id: row.id, at: now })
        .catch(() => {})
        .finally(() => this.#seenPending.delete(row.id));
    }
    return { key, id: row.id, csrf: this.#mac(`csrf:${session.id}.${session.token}`) };
  }

  /**
   * As `current`, but a signed cookie naming a session this node does not
   * know yet is looked up in the database first (a cluster's node other than
   * the one the operator signed in on); without such a lookup, as `current`.
   */
  async resolve(c: Context): Promise<CurrentSession | null> {
    const found = this.current(c);
    if (found || !this.store.fetch) return found;
    const session = this.#read(c);
    if (!session || this.store.find(session.id) || !(await this.store.fetch(session.id))) return null;
    return this.current(c);
  }

  checkCsrf(session: CurrentSession, token: string | undefined): boolean {
    return token !== undefined && safeEqual(token, session.csrf);
  }

  /** The cookie's session id and token, when its signature holds. */
  #read(c: Context): { id: string; token: string } | null {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (!cookie) return null;
    const dot = cookie.lastIndexOf(".");
    if (dot < 0) return null;
    const payload = cookie.slice(0, dot);
    if (!safeEqual(cookie, this.#sign(payload))) return null;
    const [id, token] = payload.split(".");
    return id && token ? { id, token } : null;
  }

  #sign(payload: string): string {
    return `${payload}.${this.#mac(payload)}`;
  }

  #mac(text: string): string {
    return createHmac("sha256", this.secret).update(text).digest("base64url");
  }
}

const printable = (text: string, max: number): string => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "").slice(0, max);

/** Tokens are random, so a fast hash is safe; only the hash is stored. */
const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex");

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
