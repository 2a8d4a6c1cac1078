import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

/** A PostgreSQL server of the tests' own, and a fresh database on it per caller. */
export interface PostgresCluster {
  port: number;
  /** The cluster's data folder (its postmaster.pid names the server's process). */
  dataDir: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL cluster from Debian's `postgresql` package:
 * `initdb` in a temporary folder, the server on a free port of 127.0.0.1
 * with its socket in that folder. initdb refuses to run as root, so as root
 * the cluster runs as the package's `postgres` user. fsync is off by
 * default: the tests kill Switchboard's nodes, never PostgreSQL itself, and
 * a loaded two-core machine should not wait on the disk for databases it
 * deletes. `durable` runs it as production does (fsync, full-page writes
 * and `synchronous_commit` on), for benchmarks of acknowledged writes.
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<PostgresCluster> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), "switchboard-pg-"));
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? (await run("id", ["-u", "postgres"])).stdout.trim() : null;
  if (user !== null) {
    chownSync(dir, Number(user), -1);
    chmodSync(dir, 0o700);
  }
  const pgRun = (cmd: string, args: string[]) => (asRoot ? run("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  const data = join(dir, "data");
  await pgRun("initdb", ["-D", data, "-U", "switchboard", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  // Durable settings are PostgreSQL's defaults, spelled out so that no configuration file can change them.
  const durability = options.durable ? "-c fsync=on -c full_page_writes=on -c synchronous_commit=on" : "-c fsync=off -c full_page_writes=off";
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 ${durability} -c max_connections=200`;
  await pgRun("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-o", serverOptions, "-w", "start"]);
  let databases = 0;
  return {
    port,
    dataDir: data,
    createDatabase: () => createDatabase(port, `test_${process.pid}_${++databases}`),
    async stop() {
      await pgRun("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The newest PostgreSQL server binaries Debian installed (or PG_BIN). */
function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : [];
  if (versions.length === 0) {
    throw new Error("PostgreSQL's server is not installed: `apt-get install postgresql` (as .ci/run does), or set PG_BIN to its bin folder");
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return join(root, versions[0], "bin");
}

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Creates database `name` on the cluster listening on `port`; returns its URL. */
export async function createDatabase(port: number, name: string): Promise<string> {
  const url = (database: string) => `postgres://switchboard@127.0.0.1:${port}/${database}`;
  const admin = new pg.Client({ connectionString: url("postgres") });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return url(name);
}
