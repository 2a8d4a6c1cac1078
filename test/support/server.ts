import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type Config } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { testBackend, testDatabaseUrl } from "./postgres-backend.js";

export const ADMIN_KEY = "test-admin-key-0123456789abcdef";

export interface TestServer extends RunningServer {
  dir: string;
  dbPath: string;
  config: Config;
  /** Closes the server and removes its database directory. */
  dispose(): Promise<void>;
}

/**
 * A real server on an ephemeral port with a fresh database (real
 * migrations), the `demo` tenant and ADMIN_KEY as its admin key: a SQLite
 * file in `dir`, or with SWITCHBOARD_TEST_BACKEND=postgres a database of
 * `dir`'s own (see databaseIn). `env` overrides configuration the way the
 * environment would; with a `DATABASE_URL` of PostgreSQL
 * (test/support/postgres.ts), the server is a node of a cluster on that
 * database, and `dbPath` is unused.
 */
export async function startTestServer(env: Record<string, string> = {}, dir?: string): Promise<TestServer> {
  const ownDir = dir ?? mkdtempSync(join(tmpdir(), "switchboard-test-"));
  const dbPath = join(ownDir, "switchboard.db");
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: env.DATABASE_URL ?? (await databaseIn(ownDir)),
    SWITCHBOARD_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: "error",
    ...env,
  });
  const server = await startServer(config, createLogger(config.LOG_LEVEL));
  return {
    ...server,
    dir: ownDir,
    dbPath,
    config,
    async dispose() {
      await server.close();
      if (!dir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** The PostgreSQL database made for each folder. */
const databases = new Map<string, Promise<string>>();

/**
 * The DATABASE_URL of a test server whose folder is `dir`: its SQLite file
 * there, or with SWITCHBOARD_TEST_BACKEND=postgres a database of its own, so
 * a server started again on its folder (a restart) finds its database.
 */
export function databaseIn(dir: string): Promise<string> {
  if (testBackend() === "sqlite") return Promise.resolve(join(dir, "switchboard.db"));
  let url = databases.get(dir);
  if (!url) databases.set(dir, (url = testDatabaseUrl()));
  return url;
}

/** fetch with the key as a bearer token. */
export function api(server: { url: string }, path: string, init: RequestInit & { key?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${init.key ?? ADMIN_KEY}`);
  return fetch(server.url + path, { ...init, headers });
}

/** Publishes events as JSON (one object or an array); returns the response and its parsed body. */
export async function publish(
  server: { url: string },
  tenant: string,
  body: unknown,
  options: { key?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await api(server, `/api/v1/tenants/${tenant}/events`, {
    method: "POST",
    key: options.key,
    headers: { "content-type": "application/json", ...options.headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}
