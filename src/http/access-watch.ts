import type { Logger } from "../logger.js";
import { nextTurn } from "../next-turn.js";
import type { InUse, Lapsed } from "../store/access.js";

/** Why a stream was ended for lack of access: the `reason` of its final `revoked` frame. */
export type EndReason = "key_revoked" | "tenant_disabled" | "session_ended" | "session_expired";

/** The sentence a client reads in the final frame, by reason. */
export const END_MESSAGES: Record<EndReason, string> = {
  key_revoked: "the API key this stream was opened with has been revoked",
  tenant_disabled: "this stream's tenant has been disabled",
  session_ended: "the console session has ended (signed out, or ended by an admin)",
  session_expired: "the console session has expired; sign in again",
};

/** What a stream was opened with; if any of it lapses, the stream ends. */
export interface Grant {
  /** Null for a stream opened without an API key (a Mercure subscriber's JWT, or none). */
  keyId: string | null;
  /** The tenants it depends on: the stream's and its key's (none for an admin stream of every tenant). */
  tenants: readonly string[];
  /** The console session of a page stream; null for API streams. */
  session: string | null;
}

/** A stream as the watch holds it: `end` is called at most once, when its access lapses. */
export interface Watched {
  readonly grant: Grant;
  end(reason: EndReason): void;
}

type Kind = "key" | "tenant" | "session";

/** Ids per query: keeps one check's turn of the event loop short however many distinct ids are in use. */
const SLICE_IDS = 500;

/**
 * Ends open streams whose access has lapsed. Every stream (API, worker
 * command, console page) registers what it was opened with; every
 * `intervalMs` one query per slice of distinct ids asks which keys were
 * revoked, which tenants disabled, which console sessions ended or expired
 * — also by another process, such as the CLI writing the database — and
 * each affected stream gets its final frame and is closed. The cost is per
 * distinct key, tenant and session, not per stream. Within this process a
 * logout ends its session's streams at once (`end`).
 */
export class AccessWatch {
  readonly #index: Record<Kind, Map<string, Set<Watched>>> = { key: new Map(), tenant: new Map(), session: new Map() };
  #timer: NodeJS.Timeout | null = null;
  #checking = false;

  constructor(
    private readonly lapsed: (inUse: InUse) => Lapsed,
    private readonly options: { intervalMs: number; logger: Logger },
  ) {}

  /** Registers a stream until `remove`; its `end` is called at most once, when its access lapses. */
  add(watched: Watched): void {
    const { grant } = watched;
    if (grant.keyId !== null) this.#add("key", grant.keyId, watched);
    for (const tenant of grant.tenants) this.#add("tenant", tenant, watched);
    if (grant.session !== null) this.#add("session", grant.session, watched);
  }

  /** Ends every stream opened through this key, tenant or session now; returns how many. */
  end(kind: Kind, id: string, reason: EndReason): number {
    const streams = [...(this.#index[kind].get(id) ?? [])];
    for (const watched of streams) {
      this.remove(watched);
      try {
        watched.end(reason);
      } catch (err) {
        this.options.logger.error("ending a stream failed", { reason, error: String(err) });
      }
    }
    return streams.length;
  }

  /** Distinct ids in use, per kind: what one check looks up. */
  inUse(): InUse {
    return { keys: [...this.#index.key.keys()], tenants: [...this.#index.tenant.keys()], sessions: [...this.#index.session.keys()] };
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.check(), this.options.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One pass over every grant in use, a slice of ids per turn; a pass still running makes this one a no-op. */
  async check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const { keys, tenants, sessions } = this.inUse();
      for (let at = 0; at < keys.length + tenants.length + sessions.length; at += SLICE_IDS) {
        if (at > 0) await nextTurn();
        const slice = (ids: readonly string[], offset: number) => ids.slice(Math.max(0, at - offset), Math.max(0, at + SLICE_IDS - offset));
        const lapsed = this.lapsed({
          keys: slice(keys, 0),
          tenants: slice(tenants, keys.length),
          sessions: slice(sessions, keys.length + tenants.length),
        });
        for (const id of lapsed.keys) this.end("key", id, "key_revoked");
        for (const id of lapsed.tenants) this.end("tenant", id, "tenant_disabled");
        for (const { id, expired } of lapsed.sessions) this.end("session", id, expired ? "session_expired" : "session_ended");
      }
    } catch (err) {
      this.options.logger.error("access check failed", { error: String(err) });
    } finally {
      this.#checking = false;
    }
  }

  #add(kind: Kind, id: string, watched: Watched): void {
    const set = this.#index[kind].get(id);
    if (set) set.add(watched);
    else this.#index[kind].set(id, new Set([watched]));
  }

  remove(watched: Watched): void {
    const { keyId, tenants, session } = watched.grant;
    if (keyId !== null) this.#drop("key", keyId, watched);
    for (const tenant of tenants) this.#drop("tenant", tenant, watched);
    if (session !== null) this.#drop("session", session, watched);
  }

  #drop(kind: Kind, id: string, watched: Watched): void {
    const set = this.#index[kind].get(id);
    if (set?.delete(watched) && set.size === 0) this.#index[kind].delete(id);
  }
}
