import { z } from "zod";
import { TENANT_PATTERN } from "./event.js";
import { MIN_HMAC_BYTES } from "./mercure/keys.js";

/**
 * Every setting Switchboard reads from the environment, with its default.
 * The README's configuration table mirrors this list.
 */
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Interface to listen on; unset means every interface (Node's default). */
  HOST: z.string().min(1).optional(),
  /**
   * A TLS certificate chain and its private key (PEM file paths). With both, Switchboard serves HTTPS
   * itself, over HTTP/2 (HTTP/1.1 for clients without it): a browser's tabs share one connection
   * instead of holding one of its six per origin each.
   */
  SWITCHBOARD_TLS_CERT: z.string().min(1).optional(),
  SWITCHBOARD_TLS_KEY: z.string().min(1).optional(),
  /**
   * A SQLite file path (one node; a `file:` prefix is accepted and dropped), or a PostgreSQL URL
   * (`postgres://user:password@host:5432/db`): a node of a cluster, several of which share that database.
   */
  DATABASE_URL: z
    .string()
    .min(1)
    .default("./data/switchboard.db")
    .superRefine((v, ctx) => {
      const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v)?.[1];
      if (scheme === undefined || scheme.toLowerCase() === "file") return;
      if (!isPostgresUrl(v)) {
        ctx.addIssue({ code: "custom", message: `"${scheme}://" is not a database Switchboard knows: give a SQLite file path, or a postgres:// (or postgresql://) URL` });
        return;
      }
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        ctx.addIssue({ code: "custom", message: "is not a valid PostgreSQL URL (postgres://user:password@host:5432/database)" });
        return;
      }
      if (!url.hostname || url.pathname.length <= 1) ctx.addIssue({ code: "custom", message: "a PostgreSQL URL needs a host and a database name (postgres://user:password@host:5432/database)" });
    }),
  /** On a new database, becomes the admin key instead of a random one. */
  SWITCHBOARD_ADMIN_KEY: z.string().min(24, "must be at least 24 characters").optional(),
  /**
   * `full`: an acked event survives a power cut (fsync on every commit).
   * `normal`: survives a process crash, may lose the last commits on power loss; faster.
   */
  SWITCHBOARD_DURABILITY: z.enum(["full", "normal"]).default("full"),
  SSE_HEARTBEAT_MS: z.coerce.number().int().min(1000).default(15_000),
  SSE_RETRY_MS: z.coerce.number().int().min(0).default(2_000),
  /** Unsent output one stream may hold; past it the stream reads from the log (paced to its socket) instead of queueing more. */
  SSE_MAX_BUFFER_BYTES: z.coerce.number().int().min(16 * 1024).default(1024 * 1024),
  /**
   * Unsent output every stream together may hold. When it is reached, streams
   * that have stopped draining are cut (they resume from the log); healthy ones
   * read from the log meanwhile. Sized for a small host.
   */
  SSE_MAX_QUEUED_BYTES: z.coerce.number().int().min(64 * 1024).default(64 * 1024 * 1024),
  /**
   * Recently published events (and their frames) kept in memory, in bytes: a stream that falls behind
   * in a burst, or reconnects a moment later, catches up from here instead of reading the log, sharing
   * the frames live delivery made. 0 turns it off.
   */
  SSE_RECENT_BYTES: z.coerce.number().int().min(0).default(64 * 1024 * 1024),
  /** How long a published event stays in that memory at most, so it returns to its baseline once traffic calms. */
  SSE_RECENT_MAX_AGE_MS: z.coerce.number().int().min(100).default(10_000),
  /**
   * A stream is written at most once per this many milliseconds while commits keep landing: a burst of
   * small publishes costs each stream one write per window instead of one per commit. A commit after a
   * quiet spell is written at once. 0 writes every turn of the loop.
   */
  SSE_COALESCE_MS: z.coerce.number().min(0).max(100).default(2),
  /**
   * While a round of writes to every stream takes longer than that window (many streams), the next round
   * waits as long as the last one took, up to this many milliseconds: writes then take about half of the
   * loop, and each write carries the frames of several commits. 16 ms is one frame of a 60 Hz display.
   * 0 turns the wait off.
   */
  SSE_COALESCE_MAX_MS: z.coerce.number().min(0).max(1000).default(16),
  /** Open streams allowed per tenant (admin streams count against `*`). */
  SSE_MAX_STREAMS_PER_TENANT: z.coerce.number().int().min(1).default(10_000),
  /**
   * Mercure streams one address (an IPv6 /64) may hold open without credentials, on a hub that takes
   * anonymous subscribers at all; past it, 429. Anyone may open them, so they are capped by source as well.
   */
  MERCURE_ANONYMOUS_STREAMS_PER_ADDRESS: z.coerce.number().int().min(1).default(16),
  /**
   * Distinct live console views a tenant may have open at once: each set of
   * page filters, each detail page (and each of those for read-only and for
   * control keys) is one group, rendered once per burst of events for all its
   * pages. Past it, opening one more answers 429.
   */
  CONSOLE_MAX_PAGE_GROUPS_PER_TENANT: z.coerce.number().int().min(1).default(100),
  MAX_EVENT_BYTES: z.coerce.number().int().min(256).default(64 * 1024),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
  // A batch is atomic, so it holds the log's one writer while it commits, and every other tenant's publish
  // waits: 1,000 events take about 6 ms on a small machine, 5,000 about 25 (bench/README, "Ninth pass").
  MAX_BATCH_EVENTS: z.coerce.number().int().min(1).default(1_000),
  // The same wait bounded in bytes, for batches of large events: without it, one request could be a
  // 16 MB commit (MAX_BODY_BYTES). The default is the writer's own limit for one group (commit-groups.ts).
  MAX_BATCH_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /**
   * How deep an event's data (or a command's body) may nest; deeper JSON is refused with a 400 before
   * it is parsed. At most 1000: JSON.stringify recurses, and a few thousand levels overflow its stack.
   */
  MAX_JSON_DEPTH: z.coerce.number().int().min(1).max(1000).default(64),
  /**
   * Events per second each API key may publish, sustained (commands count one each);
   * past it, 429 with Retry-After. 0 turns the limit off.
   */
  PUBLISH_RATE_PER_KEY: z.coerce.number().min(0).default(1000),
  /** Events a key may publish at once after being idle: the bucket of the rate limit. */
  PUBLISH_BURST_PER_KEY: z.coerce.number().int().min(1).default(50_000),
  /** Events older than this are pruned; 0 keeps them forever. Accepts `30d`, `12h`, `15m`, `90s` or ms. */
  RETENTION_MAX_AGE: z
    .string()
    .default("30d")
    .transform((v, ctx) => parseDuration(v) ?? (ctx.addIssue({ code: "custom", message: `"${v}" is not a duration like 30d, 12h, 15m or 90s` }), z.NEVER)),
  /** Events kept per tenant beyond which the oldest are pruned; 0 means no limit. */
  RETENTION_MAX_EVENTS: z.coerce.number().int().min(0).default(1_000_000),
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  /** How long a worker's command stream may be gone before Switchboard appends agent.disconnected. */
  PRESENCE_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /** How long a command (pause a workflow, connect a channel…) may wait for its worker's answer before it expires. */
  COMMAND_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /**
   * Signs console session cookies and CSRF tokens. Unset: one generated on
   * the first start and kept in the database, so restarts keep operators signed in.
   */
  SESSION_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** Console sessions last this long (`12h`, `7d`…). */
  SESSION_MAX_AGE: z
    .string()
    .default("12h")
    .transform((v, ctx) => parseDuration(v) ?? (ctx.addIssue({ code: "custom", message: `"${v}" is not a duration like 12h or 7d` }), z.NEVER)),
  /**
   * How often open streams' keys, tenants and console sessions are checked: a key revoked or a
   * tenant disabled (also by the CLI, from another process) ends its streams within about this long.
   */
  ACCESS_CHECK_MS: z.coerce.number().int().min(100).default(2_000),
  /** Failed console sign-ins one client address may make before it gets 429; 0 turns the throttle off. */
  LOGIN_FAILURES_PER_ADDRESS: z.coerce.number().int().min(0).default(10),
  /** The time over which those failures are forgiven again, one at a time (`10m`, `1h`…). */
  LOGIN_FAILURE_WINDOW: z
    .string()
    .default("10m")
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      return ms !== null && ms > 0 ? ms : (ctx.addIssue({ code: "custom", message: `"${v}" is not a positive duration like 10m or 1h` }), z.NEVER);
    }),
  /**
   * Reverse proxies in front of Switchboard that append the client's address to X-Forwarded-For
   * (0: clients connect directly, and the socket's address is the client's).
   */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** The tenant whose Mercure hub `/.well-known/mercure` serves; unset: no hub there (each tenant's is under /api/v1/tenants/<slug>/mercure). */
  SWITCHBOARD_MERCURE_TENANT: z
    .string()
    .regex(TENANT_PATTERN, 'must be a tenant slug: lower-case letters, digits and "-", starting with a letter or digit, at most 40 characters')
    .optional(),
  /** That tenant's HS256 key for publisher and subscriber tokens, in place of the keys `mercure set-key` stored. */
  SWITCHBOARD_MERCURE_JWT_KEY: z
    .string()
    .refine((v) => Buffer.byteLength(v, "utf8") >= MIN_HMAC_BYTES, `must be at least ${MIN_HMAC_BYTES} bytes (HS256 needs a key as long as its hash)`)
    .optional(),
  /** `true`/`false`: anonymous subscribers on that tenant's hub, whatever `mercure anonymous` set; unset: as it set. */
  SWITCHBOARD_MERCURE_ANONYMOUS: z
    .enum(["true", "false"], { message: "must be true or false" })
    .optional()
    .transform((v) => (v === undefined ? undefined : v === "true")),
})
  .refine((c) => c.MAX_BATCH_BYTES >= c.MAX_EVENT_BYTES, {
    path: ["MAX_BATCH_BYTES"],
    message: "must be at least MAX_EVENT_BYTES (a batch of one event may hold that much)",
  })
  .refine((c) => c.SSE_MAX_QUEUED_BYTES >= c.SSE_MAX_BUFFER_BYTES, {
    path: ["SSE_MAX_QUEUED_BYTES"],
    message: "must be at least SSE_MAX_BUFFER_BYTES (one stream's share)",
  })
  .superRefine((c, ctx) => {
    // Settings of the well-known hub's tenant mean nothing without it: refuse them rather than ignore them.
    for (const name of ["SWITCHBOARD_MERCURE_JWT_KEY", "SWITCHBOARD_MERCURE_ANONYMOUS"] as const) {
      if (c[name] !== undefined && c.SWITCHBOARD_MERCURE_TENANT === undefined) {
        ctx.addIssue({ code: "custom", path: [name], message: "applies to the tenant /.well-known/mercure serves: set SWITCHBOARD_MERCURE_TENANT too" });
      }
    }
  })
  .superRefine((c, ctx) => {
    // One without the other is a half-done setup: refuse it rather than serve plain HTTP by surprise.
    const [given, missing] = c.SWITCHBOARD_TLS_CERT ? ["SWITCHBOARD_TLS_CERT", "SWITCHBOARD_TLS_KEY"] : ["SWITCHBOARD_TLS_KEY", "SWITCHBOARD_TLS_CERT"];
    if ((c.SWITCHBOARD_TLS_CERT === undefined) !== (c.SWITCHBOARD_TLS_KEY === undefined)) {
      ctx.addIssue({ code: "custom", path: [missing], message: `must be set too when ${given} is (the certificate and its key go together)` });
    }
  });

export type Config = z.output<typeof schema>;

/** Whether DATABASE_URL names PostgreSQL (a cluster's shared database) rather than a SQLite file. */
export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30d` → 2592000000; a bare number is milliseconds; null when unreadable. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[(m[2] ?? "ms") as keyof typeof UNIT_MS];
}

export class ConfigError extends Error {}

/** Reads and validates the configuration; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings are treated as unset, as shells and compose files produce them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const config = parsed.data;
  config.DATABASE_URL = config.DATABASE_URL.replace(/^file:/, "");
  return config;
}
