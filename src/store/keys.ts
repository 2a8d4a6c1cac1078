import { createHash, randomBytes } from "node:crypto";
import type Database from "better-sqlite3";
import { and, asc, count, eq, isNull, sql } from "drizzle-orm";
import { TurnMemo } from "../turn-memo.js";
import type { WorkerBinding } from "../worker-binding.js";
import type { Db } from "./db.js";
import { apiKeys } from "./schema.js";

/**
 * What a key may do: `read` history, state and streams; `publish` events;
 * `control` workers (send commands); `work` as a worker (hold a command
 * stream, publish the worker events of the domains); `admin` the routes
 * across every tenant, for keys not bound to one.
 */
export const SCOPES = ["read", "publish", "control", "work", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** A key as the server knows it after verification: never the secret. */
export interface ApiKey {
  id: string;
  /** Null for admin keys, which reach every tenant. */
  tenant: string | null;
  scopes: ReadonlySet<Scope>;
  /** With the work scope: the workers it may speak for; null for any. */
  workers: WorkerBinding;
  label: string;
  createdAt: number;
  revokedAt: number | null;
}

export class KeyError extends Error {}

/**
 * An admin key: bound to no tenant and holding the admin scope. Only admin
 * keys reach the routes across every tenant; like any key, each of those
 * routes also needs its own scope (read for streams and state).
 */
export const isAdmin = (key: ApiKey): boolean => key.tenant === null && key.scopes.has("admin");

/** Keys are high-entropy random secrets, so a fast hash is safe; only the hash is stored. */
export const hashKey = (secret: string): string => createHash("sha256").update(secret).digest("hex");

export function parseScopes(text: string): Set<Scope> {
  const scopes = new Set<Scope>();
  for (const s of text.split(",").map((x) => x.trim()).filter(Boolean)) {
    if (!(SCOPES as readonly string[]).includes(s)) throw new KeyError(`unknown scope "${s}"; scopes are ${SCOPES.join(", ")}`);
    scopes.add(s as Scope);
  }
  if (scopes.size === 0) throw new KeyError(`at least one scope is needed (${SCOPES.join(", ")})`);
  return scopes;
}

type Row = typeof apiKeys.$inferSelect;
const toKey = (r: Row): ApiKey => ({
  id: r.id,
  tenant: r.tenant,
  scopes: new Set(r.scopes.split(",") as Scope[]),
  workers: r.workers === null ? null : (JSON.parse(r.workers) as string[]),
  label: r.label,
  createdAt: r.createdAt,
  revokedAt: r.revokedAt,
});

/** Live keys kept between turns at most; past it they are forgotten and read again. */
const MAX_KNOWN_KEYS = 10_000;

export class KeyStore {
  // Runs on every request: drizzle's query builder (and better-sqlite3's
  // prepare) per call cost more than the rest of a publish, so the lookup is
  // prepared once.
  readonly #byHash;
  readonly #byId;
  /** Keys by secret for this turn of the loop: a revocation by the CLI shows from the next turn. */
  readonly #verified = new TurnMemo<string, ApiKey | null>();
  /**
   * Live keys by hash, kept across turns while api_keys is unchanged: the triggers of `key_changes`
   * (migration 0014) count every insert, update and delete, by this process, the CLI, or a cluster
   * node's reload, and the count is read once per turn. Reading the key itself per request was about
   * a tenth of a single-event publish's main-thread time (perf). Unknown secrets are not kept: they
   * are looked up each time, so random secrets cannot fill memory.
   */
  readonly #known = new Map<string, ApiKey>();
  #knownAt = -1;
  readonly #changes: Database.Statement;
  readonly #version = new TurnMemo<null, number>(1);

  constructor(private readonly db: Db) {
    this.#byHash = db.select().from(apiKeys).where(and(eq(apiKeys.hash, sql.placeholder("hash")), isNull(apiKeys.revokedAt))).prepare();
    this.#byId = db.select().from(apiKeys).where(and(eq(apiKeys.id, sql.placeholder("id")), isNull(apiKeys.revokedAt))).prepare();
    this.#changes = db.$client.prepare("SELECT version FROM key_changes WHERE id = 1").pluck();
  }

  /**
   * Creates a key and returns its secret, which is shown once and never
   * stored. `secret` lets a deployment choose the admin key up front.
   */
  create(options: { tenant: string | null; scopes: Iterable<Scope>; label?: string; secret?: string; workers?: readonly string[] }): {
    key: ApiKey;
    secret: string;
  } {
    const scopes = new Set(options.scopes);
    if (scopes.has("admin") && options.tenant !== null) {
      throw new KeyError("the admin scope is for admin keys (--admin), which are bound to no tenant; a tenant's key reaches only its tenant");
    }
    if (options.workers !== undefined && !scopes.has("work")) {
      throw new KeyError("--workers says which workers a key may speak for with the work scope: add work to --scopes");
    }
    if (options.workers !== undefined && options.workers.length === 0) throw new KeyError("--workers needs at least one worker id or pattern");
    const id = `key_${randomBytes(6).toString("hex")}`;
    const secret = options.secret ?? `sb_${randomBytes(24).toString("base64url")}`;
    const row: Row = {
      id,
      hash: hashKey(secret),
      tenant: options.tenant,
      scopes: SCOPES.filter((s) => scopes.has(s)).join(","),
      workers: options.workers === undefined ? null : JSON.stringify(options.workers),
      label: options.label ?? "",
      createdAt: Date.now(),
      revokedAt: null,
    };
    this.db.insert(apiKeys).values(row).run();
    return { key: toKey(row), secret };
  }

  /**
   * The live key for a secret, or null when unknown or revoked, as the
   * database has it at this turn of the event loop: a key created or revoked
   * by the CLI as well as by this process counts from the next turn at most.
   */
  verify(secret: string): ApiKey | null {
    return this.#verified.get(secret, this.#lookup);
  }

  #lookup = (secret: string): ApiKey | null => {
    const version = this.#version.get(null, this.#readVersion);
    if (version !== this.#knownAt) {
      this.#known.clear();
      this.#knownAt = version;
    }
    const hash = hashKey(secret);
    const known = this.#known.get(hash);
    if (known) return known;
    const row = this.#byHash.get({ hash });
    if (!row) return null;
    const key = toKey(row);
    if (this.#known.size >= MAX_KNOWN_KEYS) this.#known.clear();
    this.#known.set(hash, key);
    return key;
  };

  #readVersion = (): number => this.#changes.get() as number;

  /** The live key with this id (console sessions hold the id, never the secret), or null. */
  byId(id: string): ApiKey | null {
    const row = this.#byId.get({ id });
    return row ? toKey(row) : null;
  }

  list(): ApiKey[] {
    return this.db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt)).all().map(toKey);
  }

  revoke(id: string): ApiKey {
    const row = this.db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
    if (!row) throw new KeyError(`no key with id "${id}"`);
    if (row.revokedAt === null) this.db.update(apiKeys).set({ revokedAt: Date.now() }).where(eq(apiKeys.id, id)).run();
    this.#verified.clear();
    this.#version.clear();
    return toKey({ ...row, revokedAt: row.revokedAt ?? Date.now() });
  }

  total(): number {
    return this.db.select({ n: count() }).from(apiKeys).get()?.n ?? 0;
  }
}
