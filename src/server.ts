import { createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { createApp } from "./app.js";
import { Sessions } from "./console/session.js";
import { Views } from "./console/views.js";
import { connectedAgents, findAgent, Presence } from "./domain/agents/index.js";
import { createDomains } from "./domain/index.js";
import { bootstrap } from "./bootstrap.js";
import { isPostgresUrl, type Config } from "./config.js";
import { AccessWatch } from "./http/access-watch.js";
import { connectionCloser } from "./http/connections.js";
import { readTls } from "./http/tls.js";
import { Hub } from "./hub/hub.js";
import { createLogger, type Logger } from "./logger.js";
import { fullCollector } from "./memory.js";
import { SubscriptionSweep } from "./mercure/subscription-sweep.js";
import { TurnBudget } from "./turn-budget.js";
import { createMetrics } from "./metrics.js";
import { AccessStore } from "./store/access.js";
import { openDb, type Db } from "./store/db.js";
import type { EventLog } from "./store/event-log.js";
import { KeyStore } from "./store/keys.js";
import { Leadership } from "./store/leadership.js";
import { PostgresEventLog } from "./store/postgres-event-log.js";
import { PostgresPruner } from "./store/postgres-pruner.js";
import { Retention } from "./store/retention.js";
import { SessionStore } from "./store/sessions.js";
import { storedSessionSecret } from "./store/settings.js";
import { SharedRateLimiter } from "./store/shared-rate-limit.js";
import { SqliteEventLog } from "./store/sqlite-event-log.js";
import { StreamCensus } from "./store/stream-census.js";
import { TenantStore } from "./store/tenants.js";

/** Reader threads for history and catch-up: two keep one long replay from queueing every other read on a small host. */
const HISTORY_READERS = 2;
/** How often the nodes of a cluster tell each other their open streams (the cap's precision across nodes). */
const CENSUS_MS = 1_000;
/**
 * How long a Mercure subscription of a node that is not reporting stays active: a new node reports
 * within CENSUS_MS, and a node is silent after a few seconds (StreamCensus); this leaves room for both.
 */
const ORPHANED_SUBSCRIPTION_MS = 30_000;

export interface RunningServer {
  url: string;
  port: number;
  /** Secret of the admin key created on a new database, or null. */
  bootstrapKey: { secret: string; generated: boolean } | null;
  /** Graceful stop: refuse new work, end streams, finish appends, close the database. */
  close(): Promise<void>;
  /** Every route of the app (method and path), for tests that must cover all routes of a kind. */
  routes: readonly { method: string; path: string }[];
}

/**
 * The composition root: the one place that creates the database, the log,
 * the hub and the HTTP server, and wires them together. main.ts calls it
 * with the environment's configuration; tests call it with their own.
 */
export async function startServer(config: Config, logger: Logger = createLogger(config.LOG_LEVEL)): Promise<RunningServer> {
  // Before anything is opened: a bad certificate stops the start with nothing to undo.
  const tls = readTls(config);
  // One budget of loop time per turn for everything done in slices: fan-out, writes, renders, replays, admissions.
  const turn = new TurnBudget();
  // On PostgreSQL (a node of a cluster), every synchronous read is on the node's replica (see Replica).
  const cluster = isPostgresUrl(config.DATABASE_URL) ? await PostgresEventLog.open({ url: config.DATABASE_URL, logger, turn }) : null;
  let db: Db;
  let single: SqliteEventLog | null = null;
  if (cluster) db = cluster.replica.db;
  else {
    db = openDb(config.DATABASE_URL, { durability: config.SWITCHBOARD_DURABILITY });
    // The writer thread updates projections inside the append transaction (state and log never
    // disagree) and runs retention; reader threads serve history. The event loop never waits on them.
    single = await SqliteEventLog.open(db.$client, {
      path: config.DATABASE_URL,
      durability: config.SWITCHBOARD_DURABILITY,
      retention: { maxAgeMs: config.RETENTION_MAX_AGE, maxEvents: config.RETENTION_MAX_EVENTS, intervalMs: config.RETENTION_INTERVAL_MS },
      readers: HISTORY_READERS,
      logger,
      turn,
    });
  }
  const log: EventLog = cluster ?? single!;
  const sqlite = db.$client;
  const tenants = new TenantStore(db);
  const keys = new KeyStore(db);
  const domains = createDomains({ db, log, logger, commandTimeoutMs: config.COMMAND_TIMEOUT_MS });
  // On a cluster only the leader runs the domains' timers: the others arm none.
  let leading = cluster === null;
  log.onCommit((events) => leading && domains.onCommit(events));
  const hub = new Hub({
    maxBuffer: config.SSE_MAX_BUFFER_BYTES,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
    coalesceMs: config.SSE_COALESCE_MS,
    coalesceMaxMs: config.SSE_COALESCE_MAX_MS,
    maxStreamsPerTenant: config.SSE_MAX_STREAMS_PER_TENANT,
    streamsElsewhere: cluster ? (scope): number => census?.elsewhere(scope) ?? 0 : undefined,
    maxQueuedBytes: config.SSE_MAX_QUEUED_BYTES,
    turn,
    recentBytes: config.SSE_RECENT_BYTES,
    recentMaxAgeMs: config.SSE_RECENT_MAX_AGE_MS,
    onRelease: releaseMemory(log, logger),
  });
  hub.setPublishedHead(log.head());
  log.onCommit((events) => hub.publish(events));
  const metrics = createMetrics(hub, log);

  // On a cluster, presence is decided by the leader from every node's streams (see Presence).
  const connectedInLog = (tenant: string, worker: string) => findAgent(db, tenant, worker)?.connected === true;
  const presence = new Presence(log, config.PRESENCE_GRACE_MS, logger, cluster ? { connectedInLog } : undefined);
  // On a cluster, the nodes tell each other their streams: a tenant's stream cap counts them all, and an agent
  // is present while any node holds its command stream.
  const census = cluster
    ? new StreamCensus({ pool: cluster.pool, counts: () => hub.openStreams(), workers: () => presence.held(), intervalMs: CENSUS_MS, logger })
    : null;
  census?.start();
  let leadership: Leadership | null = null;
  const subscriptions = new SubscriptionSweep(log, db, logger);
  if (cluster) {
    const sweep = () => presence.sweep(connectedAgents(db), census!.workersElsewhere(), Date.now());
    // Mercure subscriptions of nodes that went away end a while after the node fell silent.
    const endOrphans = () => void subscriptions.sweep(census!.liveNodes(), Date.now() - ORPHANED_SUBSCRIPTION_MS);
    leadership = leadCluster(config, cluster, logger, (lead) => (leading = lead), [domains, sweeping(presence, sweep), every(CENSUS_MS, endOrphans)]);
  } else {
    // One node: agents the log says are connected get a grace period to come back.
    presence.start(connectedAgents(db));
    domains.start();
    // No stream outlives its process: the Mercure subscriptions the log says are active ended with the last one.
    await subscriptions.sweep([], Date.now());
  }

  const views = new Views();
  // Session writes go through the log's writer thread: the event loop never waits on the database's lock.
  const sessionStore = cluster
    ? new SessionStore(db, (change) => cluster.access.writeSession(change), (id) => cluster.access.fetchSession(id))
    : new SessionStore(db, (change) => single!.write(change));
  const secret = config.SESSION_SECRET ?? (cluster ? await cluster.access.change(storedSessionSecret) : storedSessionSecret(db));
  const sessions = new Sessions(secret, keys, sessionStore, config.SESSION_MAX_AGE);
  const accessStore = new AccessStore(sqlite);
  const access = new AccessWatch((inUse) => accessStore.lapsed(inUse), { intervalMs: config.ACCESS_CHECK_MS, logger });
  access.start();
  const ready = cluster ? () => cluster.ready() : undefined;
  const allowance = { ratePerSec: config.PUBLISH_RATE_PER_KEY, burst: config.PUBLISH_BURST_PER_KEY };
  const limiter = cluster ? new SharedRateLimiter(cluster.pool, allowance, logger) : undefined;
  const app = createApp({ config, db, sqlite, log, hub, keys, tenants, metrics, logger, domains, presence, views, sessions, access, ready, limiter, node: census?.node });
  const server = await new Promise<ServerType>((resolve, reject) => {
    // With a certificate, HTTP/2: every tab of a browser shares one connection, where HTTP/1.1 gives
    // an origin six, each held by a page's stream. HTTP/1.1 stays for clients without HTTP/2.
    const transport = tls ? { createServer: createSecureServer, serverOptions: { ...tls, allowHTTP1: true } } : {};
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST, ...transport }, () => resolve(s));
    s.once("error", (err: NodeJS.ErrnoException) => {
      access.stop();
      void (leadership?.stop() ?? Promise.resolve()).then(() => census?.stop()).then(() => log.stop()).then(() => sqlite.close());
      reject(new Error(err.code === "EADDRINUSE" ? `port ${config.PORT} is already in use (set PORT to another)` : `cannot listen: ${err.message}`));
    });
  });
  // Only once listening: a generated key is shown once, by the start that succeeds; made before a
  // failed listen (port in use), it would be stored but never shown. No request is read before this runs.
  // On a cluster, against PostgreSQL's tables: of nodes starting together on a new database, one makes them.
  const bootstrapKey = cluster
    ? await cluster.access.change((scratch) => bootstrap(new TenantStore(scratch), new KeyStore(scratch), config.SWITCHBOARD_ADMIN_KEY))
    : bootstrap(tenants, keys, config.SWITCHBOARD_ADMIN_KEY);
  const port = (server.address() as AddressInfo).port;
  const connections = connectionCloser(server);
  const url = `${tls ? "https" : "http"}://${!config.HOST || config.HOST === "0.0.0.0" || config.HOST === "::" ? "localhost" : config.HOST}:${port}`;
  logger.info("switchboard listening", { url, http2: tls !== null, database: cluster ? "postgres" : config.DATABASE_URL, durability: config.SWITCHBOARD_DURABILITY, head: log.head() });

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      logger.info("switchboard shutting down");
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      presence.stop();
      await leadership?.stop();
      domains.stop();
      access.stop();
      log.close();
      hub.closeAll();
      await census?.stop();
      await log.stop();
      // Requests still in flight have had their appends committed; let them answer, then drop idle sockets.
      // Keep dropping them as they go idle: a keep-alive connection whose answer was still being written
      // would otherwise stay open until the client's idle timeout, holding up the stop by seconds.
      connections.dropIdle();
      const dropping = setInterval(() => connections.dropIdle(), 50);
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 5000).unref())]);
      clearInterval(dropping);
      connections.dropAll();
      sqlite.close();
      logger.info("switchboard stopped");
    })());
  // Hono lists a route once per handler (its middleware too): one entry each.
  const routes = [...new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`))].map((route) => {
    const [method, path] = route.split(" ");
    return { method, path };
  });
  return { url, port, bootstrapKey, close, routes };
}

/**
 * A full collection when a burst's memory has been let go (see MemoryRelease), timed in the debug log;
 * then the log's threads collect theirs, one after the other. Run at once, the four collections shared
 * two cores and each took longer: the main thread's paused the loop for 40–60 ms instead of 30–38, and
 * the threads' took 30–100 ms instead of 8–27, the writer's holding commits up meanwhile (bench/README).
 */
function releaseMemory(log: EventLog, logger: Logger): (() => void) | undefined {
  const collect = fullCollector();
  if (!collect) return undefined;
  return () => {
    const t0 = performance.now();
    collect();
    const mainMs = performance.now() - t0;
    void log.collectGarbage().then(
      () => logger.debug("memory released after a burst", { gcMs: Math.round(mainMs), threadsMs: Math.round(performance.now() - t0 - mainMs) }),
      (err: Error) => logger.warn("the log's threads could not collect their memory", { error: err.message }),
    );
  };
}

/**
 * On a cluster, the work done once (the domains' timers: command expiry,
 * connect timeouts; retention) runs on the node holding leadership only:
 * started when it leads, stopped the moment it does not.
 */
function leadCluster(config: Config, cluster: PostgresEventLog, logger: Logger, setLeading: (lead: boolean) => void, work: { start(): void; stop(): void }[]): Leadership {
  let retention: Retention | null = null;
  return Leadership.start({
    url: config.DATABASE_URL,
    logger,
    onLead() {
      setLeading(true);
      for (const w of work) w.start();
      const options = { maxAgeMs: config.RETENTION_MAX_AGE, maxEvents: config.RETENTION_MAX_EVENTS, intervalMs: config.RETENTION_INTERVAL_MS };
      retention = new Retention(new PostgresPruner(cluster.pool), options, logger);
      retention.start();
    },
    onLose() {
      setLeading(false);
      for (const w of work) w.stop();
      void retention?.stop();
      retention = null;
    },
  });
}

/** Work a leader repeats, every `ms`, while it leads. */
function every(ms: number, work: () => void): { start(): void; stop(): void } {
  let timer: NodeJS.Timeout | null = null;
  return {
    start() {
      timer = setInterval(work, ms);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

/** The leader's presence sweeps: every CENSUS_MS, as often as the nodes tell each other their streams. */
function sweeping(presence: Presence, sweep: () => void): { start(): void; stop(): void } {
  const timer = every(CENSUS_MS, sweep);
  return {
    start: () => timer.start(),
    stop() {
      timer.stop();
      presence.stopSweeping();
    },
  };
}
