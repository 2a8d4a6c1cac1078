import { parseArgs } from "node:util";
import pg from "pg";
import { ConfigError, isPostgresUrl, loadConfig } from "./config.js";
import { openDb, type Db } from "./store/db.js";
import { changeAccess } from "./store/postgres-access.js";
import { migratePostgres } from "./store/postgres-migrate.js";
import { isAdmin, KeyError, KeyStore, parseScopes, SCOPES, type ApiKey } from "./store/keys.js";
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
      throw new UsageError(`unknown command "${positionals.join(" ")}"\n\n${USAGE}`);
  }
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
    if (err instanceof UsageError || err instanceof KeyError || err instanceof TenantError || err instanceof WorkerBindingError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`switchboard: ${(err as Error).message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
