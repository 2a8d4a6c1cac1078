import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import pg from "pg";
import { ConfigError, isPostgresUrl, loadConfig } from "./config.js";
import { openDb, type Db } from "./store/db.js";
import { changeAccess } from "./store/postgres-access.js";
import { migratePostgres } from "./store/postgres-migrate.js";
import { isAdmin, KeyError, KeyStore, parseScopes, SCOPES, type ApiKey } from "./store/keys.js";
import { describeKey, hmacKey, MercureKeyError, PUBLIC_KEY_ALGORITHMS, publicKey, sameKey, type MercureKey } from "./mercure/keys.js";
import { MercureSettingsError, MercureSettingsStore, type MercureSettings, type MercureSettingsChange } from "./store/mercure-settings.js";
import { applySessionChange, SessionStore } from "./store/sessions.js";
import { MoveError, moveToPostgres } from "./store/sqlite-to-postgres.js";
import { TenantError, TenantStore } from "./store/tenants.js";
import { parseWorkerPatterns, WorkerBindingError } from "./worker-binding.js";

const USAGE = `Usage: npm run switchboard -- <command>

  tenants create <slug> [--name "Display name"]
  tenants list
  tenants set-retell-secret <slug> <secret>    the key Retell signs webhooks with
  tenants set-retell-secret <slug> --clear     refuse Retell webhooks again
  tenants disable <slug>                       refuse its requests, end its streams
  tenants enable <slug>
  keys create --tenant <slug> --scopes read,publish[,control][,work] [--workers <ids>] [--label text]
  keys create --admin --scopes read,publish,control,work,admin [--label text]
  keys list [--tenant <slug>]
  keys revoke <key id>                         also ends its console sessions and streams
  mercure set-key <slug> --role publisher|subscriber|both --hmac <secret> | --hmac-file <file>
  mercure set-key <slug> --role publisher|subscriber|both --public-key <pem file> --alg RS256|ES256|EdDSA
  mercure clear-key <slug> --role publisher|subscriber|both
  mercure anonymous <slug> on|off              subscribers without a token (public updates only)
  mercure subscriptions <slug> on|off          subscription events and the subscriptions API
  mercure cors <slug> <origin,origin> | --clear
                                               browser origins allowed to call the hub (replaces the list)
  mercure issuer <slug> <iss> | --clear        1.0 tokens must carry this iss
  mercure audience <slug> <aud> | --clear      1.0 tokens' aud must hold this (default: the hub's URL)
  mercure show <slug>                          the tenant's Mercure settings, never a secret
  sessions list [--tenant <slug>]              console sign-ins not yet expired
  sessions end <session id>                    sign it out; its open pages end
  migrate --from <sqlite file> [--to <postgres url>]
                                               copy a single host's data to PostgreSQL
                                               (resumable; verified by counts and a checksum)

Works on the database named by DATABASE_URL (default ./data/switchboard.db;
a postgres:// URL for a cluster), also while the server is running (which
ends the streams of a revoked key, a disabled tenant or an ended session
within ACCESS_CHECK_MS; on a cluster, every node does).

Scopes: read (history, state, streams), publish (events), control (commands
to workers), work (be a worker: its command stream and its answers and
reports), admin (the routes across every tenant; admin keys only).
--workers binds a key with work to the workers it may speak for: ids or
globs, comma-separated (--workers runner-1,connector-*); without it, any.

migrate copies the log event by event, ids kept, and every other table
whole, from one snapshot of the file; --to defaults to DATABASE_URL. Run it
again after an interruption, or after the server ran on: it resumes after
the last event copied. No node may run on the target meanwhile.

Mercure: a tenant's hub verifies publishers' tokens with its publisher key
and subscribers' with its subscriber key (--role both: one key for the two).
A key is an HMAC secret of at least 32 bytes (tokens signed HS256, HS384 or
HS512), or a public key in PEM with its algorithm. --hmac-file keeps the
secret off the command line, which other users of the machine can see.

Retell webhooks go to POST /api/v1/tenants/<slug>/webhooks/retell; use the
Retell API key that has the webhook badge as the secret.`;

class UsageError extends Error {}

/** Runs one CLI command on a SQLite database; returns the text to print. Exported for tests. */
export function runCli(argv: string[], databaseUrl: string): string {
  const args = parse(argv);
  if (!args) return USAGE;
  const db = openDb(databaseUrl);
  try {
    return command(db, args);
  } finally {
    db.$client.close();
  }
}

/**
 * Runs one CLI command on the database DATABASE_URL names: a SQLite file,
 * or PostgreSQL, where the same command runs on a copy of the access tables
 * and what it changed is written back, announced to every node (see changeAccess).
 */
export async function runCliOn(argv: string[], databaseUrl: string, progress?: (line: string) => void): Promise<string> {
  const args = parse(argv);
  if (args?.positionals[0] === "migrate") return migrate(args, databaseUrl, progress);
  if (!isPostgresUrl(databaseUrl)) return runCli(argv, databaseUrl);
  if (!args) return USAGE;
  await migratePostgres(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    return await changeAccess(pool, (db) => command(db, args));
  } finally {
    await pool.end();
  }
}

type Args = ReturnType<typeof parseCommand>;

/** `migrate`: moves a single host's SQLite data to the PostgreSQL database of a cluster (see moveToPostgres). */
async function migrate({ values, positionals }: Args, databaseUrl: string, progress?: (line: string) => void): Promise<string> {
  if (positionals.length > 1) throw new UsageError(`migrate takes no arguments but --from and --to, not "${positionals.slice(1).join(" ")}"`);
  if (!values.from) throw new UsageError("migrate needs --from <sqlite file>, the single host's database (e.g. ./data/switchboard.db)");
  const to = values.to ?? databaseUrl;
  if (!isPostgresUrl(to)) throw new UsageError("migrate needs a PostgreSQL database to copy to: --to postgres://… (or DATABASE_URL set to one)");
  if (isPostgresUrl(values.from)) throw new UsageError("migrate --from takes the SQLite file to copy from, not a PostgreSQL URL");
  const page = values.page === undefined ? undefined : Number(values.page);
  if (page !== undefined && !(Number.isSafeInteger(page) && page > 0)) throw new UsageError(`--page must be a whole number of events above 0, not "${values.page}"`);
  const r = await moveToPostgres({
    from: values.from,
    to,
    pageSize: page,
    onProgress: (copied, total) => progress?.(`copied ${copied} of ${total} events`),
  });
  return [
    r.resumedAfter > 0 ? `resumed after event ${r.resumedAfter}` : "started on an empty database",
    `copied ${r.copied} events${r.pruned > 0 ? `, removed ${r.pruned} that retention has pruned since` : ""}, and ${r.rows} rows of the other tables`,
    `verified: ${r.events} events of ${r.tenants} tenant${r.tenants === 1 ? "" : "s"}, each tenant's count and ids, every table's rows, sha256 ${r.checksum}`,
    `new events start after id ${r.head}; start the nodes with DATABASE_URL set to the target`,
  ].join("\n");
}

/** The command line, or null when it asks for the usage. */
function parse(argv: string[]): Args | null {
  const args = parseCommand(argv);
  return args.values.help || !args.positionals[0] ? null : args;
}

function parseCommand(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: "string" },
      scopes: { type: "string" },
      label: { type: "string" },
      name: { type: "string" },
      admin: { type: "boolean" },
      workers: { type: "string" },
      clear: { type: "boolean" },
      from: { type: "string" },
      to: { type: "string" },
      page: { type: "string" },
      role: { type: "string" },
      hmac: { type: "string" },
      "hmac-file": { type: "string" },
      "public-key": { type: "string" },
      alg: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function command(db: Db, { values, positionals }: Args): string {
  const [noun, verb, arg, arg2] = positionals;
  const tenants = new TenantStore(db);
  const keys = new KeyStore(db);
  const sessions = new SessionStore(db, async (change) => applySessionChange(db, change));
  switch (`${noun} ${verb}`) {
    case "tenants create": {
      if (!arg) throw new UsageError("tenants create needs a slug, e.g. tenants create acme");
      const t = tenants.create(arg, values.name ?? arg);
      return `created tenant ${t.slug} (${t.name})`;
    }
    case "tenants list":
      return table(
        ["slug", "name", "created", "retell", "disabled"],
        tenants.list().map((t) => [t.slug, t.name, iso(t.createdAt), tenants.retellSecret(t.slug) === null ? "" : "secret set", t.disabledAt ? iso(t.disabledAt) : ""]),
      );
    case "tenants disable":
    case "tenants enable": {
      if (!arg) throw new UsageError(`tenants ${verb} needs a slug, e.g. tenants ${verb} acme`);
      if (!tenants.exists(arg)) throw new UsageError(`no tenant "${arg}"; see tenants list`);
      tenants.setDisabled(arg, verb === "disable");
      return verb === "disable"
        ? `disabled tenant ${arg}: its requests get 403 and a running server ends its open streams`
        : `enabled tenant ${arg} again`;
    }
    case "tenants set-retell-secret": {
      if (!arg) throw new UsageError("tenants set-retell-secret needs a slug, e.g. tenants set-retell-secret acme <secret>");
      if (Boolean(values.clear) === (arg2 !== undefined)) throw new UsageError("tenants set-retell-secret needs exactly one of <secret> or --clear");
      if (!tenants.exists(arg)) throw new UsageError(`no tenant "${arg}"; create it with: tenants create ${arg}`);
      // Never echo the secret: this output ends up in terminals and CI logs.
      tenants.setRetellSecret(arg, values.clear ? null : arg2);
      return values.clear
        ? `cleared the Retell secret of tenant ${arg}: its Retell webhooks are now refused`
        : `set the Retell secret of tenant ${arg}; point Retell's webhook at /api/v1/tenants/${arg}/webhooks/retell`;
    }
    case "keys create": {
      if (values.admin === (values.tenant !== undefined)) throw new UsageError("keys create needs exactly one of --tenant <slug> or --admin");
      if (!values.scopes) throw new UsageError("keys create needs --scopes, e.g. --scopes read,publish");
      const tenant = values.tenant ?? null;
      if (tenant !== null && !tenants.exists(tenant)) throw new UsageError(`no tenant "${tenant}"; create it with: tenants create ${tenant}`);
      const workers = values.workers === undefined ? undefined : parseWorkerPatterns(values.workers);
      const { key, secret } = keys.create({ tenant, scopes: parseScopes(values.scopes), label: values.label, workers });
      return [`created ${describe(key)}`, "", "The key is shown only this once:", "", `  ${secret}`, ""].join("\n");
    }
    case "keys list": {
      const rows = keys.list().filter((k) => values.tenant === undefined || k.tenant === values.tenant);
      return table(
        ["id", "tenant", "scopes", "workers", "label", "created", "revoked"],
        rows.map((k) => [k.id, tenantOf(k), scopesOf(k), workersOf(k), k.label, iso(k.createdAt), k.revokedAt ? iso(k.revokedAt) : ""]),
      );
    }
    case "keys revoke": {
      if (!arg) throw new UsageError("keys revoke needs a key id (see keys list)");
      const key = keys.revoke(arg);
      const ended = applySessionChange(db, { op: "end-key", keyId: key.id });
      return `revoked ${describe(key)}${ended > 0 ? `, and ended its ${ended} console session${ended === 1 ? "" : "s"}` : ""}`;
    }
    case "sessions list": {
      const rows = sessions.list({ tenant: values.tenant });
      return table(
        ["id", "key", "tenant", "created", "last seen", "expires", "address", "user agent"],
        rows.map((s) => [s.id, s.keyLabel ? `${s.keyId} (${s.keyLabel})` : s.keyId, s.tenant ?? "(all, admin)", iso(s.createdAt), iso(s.lastSeenAt), iso(s.expiresAt), s.address, s.userAgent]),
      );
    }
    case "sessions end": {
      if (!arg) throw new UsageError("sessions end needs a session id (see sessions list)");
      if (applySessionChange(db, { op: "end", id: arg }) === 0) throw new UsageError(`no session with id "${arg}" (see sessions list)`);
      return `ended session ${arg}: its cookie no longer signs in, and a running server ends its open pages`;
    }
    default:
      if (noun === "mercure") return mercure(db, verb, arg, arg2, values);
      throw new UsageError(`unknown command "${positionals.join(" ")}"\n\n${USAGE}`);
  }
}

/** `mercure …`: a tenant's Mercure hub settings (src/store/mercure-settings.ts). */
function mercure(db: Db, verb: string | undefined, slug: string | undefined, value: string | undefined, values: Args["values"]): string {
  const store = new MercureSettingsStore(db);
  if (verb === undefined) throw new UsageError(`mercure needs a command: set-key, clear-key, anonymous, subscriptions, cors, issuer, audience or show\n\n${USAGE}`);
  if (!slug) throw new UsageError(`mercure ${verb} needs a tenant's slug, e.g. mercure ${verb} acme`);
  if (!new TenantStore(db).exists(slug)) throw new UsageError(`no tenant "${slug}"; create it with: tenants create ${slug}`);
  const set = (change: MercureSettingsChange): MercureSettings => store.set(slug, change);
  switch (verb) {
    case "set-key":
    case "clear-key": {
      const roles = rolesOf(values.role, verb);
      const key = verb === "set-key" ? mercureKeyOf(values) : null;
      const after = set(Object.fromEntries(roles.map((r) => [`${r}Key`, key])));
      return `${verb === "set-key" ? "set" : "cleared"} the Mercure ${roles.join(" and ")} key of tenant ${slug}\n\n${showMercure(after)}`;
    }
    case "anonymous":
    case "subscriptions": {
      if (value !== "on" && value !== "off") throw new UsageError(`mercure ${verb} needs on or off, e.g. mercure ${verb} ${slug} on`);
      set({ [verb]: value === "on" });
      return verb === "anonymous"
        ? `anonymous subscribers are now ${value === "on" ? "allowed (they receive public updates only)" : "refused"} on tenant ${slug}'s Mercure hub`
        : `subscription events and the subscriptions API are now ${value} on tenant ${slug}'s Mercure hub`;
    }
    case "cors": {
      const origins = clearOr(values.clear, value, "cors", slug, "https://app.example.com,https://admin.example.com");
      const after = set({ corsOrigins: origins === null ? [] : origins.split(",").filter((o) => o.trim() !== "") });
      return after.corsOrigins.length === 0 ? `tenant ${slug}'s Mercure hub now answers no browser origin` : `tenant ${slug}'s Mercure hub now answers browsers from ${after.corsOrigins.join(", ")}`;
    }
    case "issuer":
    case "audience": {
      const text = clearOr(values.clear, value, verb, slug, verb === "issuer" ? "https://example.com" : "https://hub.example.com/.well-known/mercure");
      set({ [verb]: text });
      if (verb === "issuer") return text === null ? `1.0 tokens of tenant ${slug} may now have any issuer` : `1.0 tokens of tenant ${slug} must now have iss "${text}"`;
      return text === null ? `1.0 tokens of tenant ${slug} must now be meant for the hub's URL (aud)` : `1.0 tokens of tenant ${slug} must now have "${text}" in aud`;
    }
    case "show":
      return showMercure(store.get(slug));
    default:
      throw new UsageError(`unknown command "mercure ${verb}"\n\n${USAGE}`);
  }
}

const MERCURE_ROLES = { publisher: ["publisher"], subscriber: ["subscriber"], both: ["publisher", "subscriber"] } as const;

function rolesOf(role: string | undefined, verb: string): readonly ("publisher" | "subscriber")[] {
  if (role === undefined || !Object.hasOwn(MERCURE_ROLES, role)) {
    throw new UsageError(`mercure ${verb} needs --role publisher, subscriber or both${role === undefined ? "" : `, not "${role}"`}`);
  }
  return MERCURE_ROLES[role as keyof typeof MERCURE_ROLES];
}

/** The key `set-key` names: exactly one of --hmac, --hmac-file and --public-key (with its --alg). */
function mercureKeyOf(values: Args["values"]): MercureKey {
  const given = (["hmac", "hmac-file", "public-key"] as const).filter((o) => values[o] !== undefined);
  if (given.length !== 1) throw new UsageError("mercure set-key needs exactly one of --hmac <secret>, --hmac-file <file> or --public-key <pem file> --alg <alg>");
  if (given[0] !== "public-key") {
    if (values.alg !== undefined) throw new UsageError("--alg goes with --public-key: an HMAC secret verifies HS256, HS384 and HS512 tokens alike");
    // A file's last line break is the editor's, not the secret's.
    const secret = values.hmac ?? readText(values["hmac-file"]!, "--hmac-file").replace(/\r?\n$/, "");
    return hmacKey(secret);
  }
  if (values.alg === undefined) throw new UsageError(`--public-key needs --alg ${PUBLIC_KEY_ALGORITHMS.join("|")}, the algorithm its tokens are signed with`);
  return publicKey(readText(values["public-key"]!, "--public-key"), values.alg);
}

function readText(path: string, option: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read the ${option} file "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A value, or null with --clear; exactly one of the two. */
function clearOr(clear: boolean | undefined, value: string | undefined, verb: string, slug: string, example: string): string | null {
  if (Boolean(clear) === (value !== undefined) || value?.trim() === "") {
    throw new UsageError(`mercure ${verb} needs exactly one of a value or --clear, e.g. mercure ${verb} ${slug} ${example}`);
  }
  return clear ? null : value!;
}

/** The settings, keys named by kind (and a public key by fingerprint): never a secret. */
function showMercure(s: MercureSettings): string {
  return table(
    ["setting", "value"],
    [
      ["tenant", s.tenant],
      ["publisher key", describeKey(s.publisherKey)],
      ["subscriber key", sameKey(s.publisherKey, s.subscriberKey) ? "the publisher key" : describeKey(s.subscriberKey)],
      ["anonymous", s.anonymous ? "on (public updates only)" : "off"],
      ["subscriptions", s.subscriptions ? "on" : "off"],
      ["cors origins", s.corsOrigins.length === 0 ? "(none)" : s.corsOrigins.join(", ")],
      ["issuer (1.0)", s.issuer ?? "(any)"],
      ["audience (1.0)", s.audience ?? "(the hub's URL)"],
    ],
  );
}

const iso = (ms: number) => new Date(ms).toISOString();
const tenantOf = (k: ApiKey) => k.tenant ?? (isAdmin(k) ? "(all, admin)" : "(all)");
const scopesOf = (k: ApiKey) => SCOPES.filter((s) => k.scopes.has(s)).join(",");
/** Empty without the work scope; "(any)" for a key not bound to workers. */
const workersOf = (k: ApiKey) => (!k.scopes.has("work") ? "" : k.workers === null ? "(any)" : k.workers.join(","));
const describe = (k: ApiKey) =>
  `key ${k.id} for ${k.tenant ? `tenant ${k.tenant}` : isAdmin(k) ? "all tenants (admin)" : "all tenants"} with scopes ${scopesOf(k)}` +
  (k.scopes.has("work") ? `, speaking for ${k.workers === null ? "any worker" : `workers ${k.workers.join(",")}`}` : "");

function table(head: string[], rows: string[][]): string {
  if (rows.length === 0) return "(none)";
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

async function main(): Promise<void> {
  try {
    const { DATABASE_URL } = loadConfig();
    process.stdout.write((await runCliOn(process.argv.slice(2), DATABASE_URL, (line) => process.stderr.write(`${line}\n`))) + "\n");
  } catch (err) {
    if (err instanceof MoveError) {
      // Refused (a node runs on the target, or it holds other events) or not verified: nothing is wrong with the command.
      process.stderr.write(`switchboard: ${err.message}\n`);
      process.exit(1);
    }
    if (err instanceof UsageError || err instanceof KeyError || err instanceof TenantError || err instanceof WorkerBindingError || err instanceof MercureSettingsError || err instanceof MercureKeyError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`switchboard: ${(err as Error).message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
