/**
 * The log's writer thread: the only connection that writes events. It owns
 * group commit (requests that arrive while a commit is under way form the
 * next group), runs every domain's projection inside the append transaction,
 * and runs retention between groups. Commits and their fsync happen here, so
 * the main thread's event loop never waits on the disk.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createProjector, isPlainType } from "../domain/projections.js";
import type { Logger } from "../logger.js";
import { fullCollector } from "../memory.js";
import { nextTurn } from "../next-turn.js";
import { CommitQueue } from "./commit-groups.js";
import { openDb } from "./db.js";
import { unpackNew, unpackStored } from "./event-columns.js";
import { loadSqlite } from "./replica-tables.js";
import { ReplicaWriter } from "./replica-writer.js";
import { Retention, SqlitePruner } from "./retention.js";
import { applySessionChange } from "./sessions.js";
import { SqliteWriter, type AppendRequest } from "./sqlite-writer.js";
import type { FromWriter, ToWriter, WriterOptions } from "./writer-protocol.js";

/** 16 MB of WAL (4 KB pages); SQLite's default is 1,000 pages. */
const WAL_BACKSTOP_PAGES = 4_000;
/** The writer's page cache, in KiB: SQLite's own default (better-sqlite3 builds it with 16 MB). */
const CACHE_KIB = 2_000;

const port = parentPort!;
const collect = fullCollector();
const options = workerData as WriterOptions;
const send = (message: FromWriter) => port.postMessage(message);
const log = (level: "debug" | "info" | "warn" | "error") => (msg: string, fields?: Record<string, unknown>) => send({ op: "log", level, msg, fields });
const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };

const db = openDb(options.path, { durability: options.durability, migrate: false });
// Checkpoints run beside the writer (WalCheckpoints). They copy the WAL while the writer appends to it, so
// under a steady flow of appends one may never find it all copied at once, and the WAL is started over only
// then: past WAL_BACKSTOP_PAGES the writer's commits finish the copy themselves (only the last frames are left).
if (options.checkpointedElsewhere) db.$client.pragma(`wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
// A statement that writes many rows (RowInserts), and each request's savepoint, keep the pages they change
// in a statement journal, so that they can be undone alone. SQLite spills that journal to a temporary file past
// 64 KiB: those writes were a fifth of this thread's time in an NDJSON ingest (perf). In memory, it holds at
// most the pages one commit group changes.
db.$client.pragma("temp_store = MEMORY");
// The writer appends: what it reads again is the right edges of the tables and indexes and what a group's
// projections touch, which 2 MB holds. With 16 MB, a burst of large events left the cache full of their pages
// for good (and glibc keeps them in this thread's heap even once SQLite frees them): after 20 MB of 60 KB events
// to stalled streams the server settled about 10 MiB higher. Ingest did not lose beyond its spread (bench/README).
db.$client.pragma(`cache_size = -${CACHE_KIB}`);
const project = createProjector();
const hooks = [(event: Parameters<typeof project>[1], index: number, request: AppendRequest) => project(db, event, index, request)];
const writer = new SqliteWriter(db.$client, hooks, { plain: isPlainType });
const retention = new Retention(new SqlitePruner(db.$client), options.retention, logger);
const replica = options.replica ? new ReplicaWriter(db, hooks, logger, isPlainType) : null;
// A replica is a cache of what PostgreSQL checked: its rows arrive in PostgreSQL's order, copied whole.
if (replica) db.$client.pragma("foreign_keys = OFF");
/** A replica's work, one task at a time: an apply's transaction stays open while its projections are awaited. */
let replicaWork: Promise<void> = Promise.resolve();
const inTurn = (id: number, task: () => Promise<void> | void) => {
  replicaWork = replicaWork.then(async () => {
    try {
      await task();
      send({ op: "applied", id });
    } catch (err) {
      send({ op: "applied", id, error: (err as Error).message });
    }
  });
};

/** Requests whose chunks are still arriving, by seq. */
const partial = new Map<number, AppendRequest>();
const queue = new CommitQueue<AppendRequest>();
let scheduled = false;
/** A group's transaction is open: its projections are being awaited. */
let committing = false;
/** Session writes that arrived meanwhile; they go once the group is committed. */
const waitingWrites: Extract<ToWriter, { op: "write" }>[] = [];

port.on("message", (message: ToWriter) => {
  if (message.op === "append") {
    for (const part of message.parts) {
      const request = partial.get(part.seq) ?? { seq: part.seq, tenant: part.tenant, workers: part.workers, events: [] };
      unpackNew(part.events, request.events);
      if (part.more) {
        partial.set(part.seq, request);
        continue;
      }
      partial.delete(part.seq);
      queue.push(request);
    }
    if (!scheduled && queue.length > 0) {
      scheduled = true;
      // On the next turn: every request already waiting in the port joins this group.
      setImmediate(flush);
    }
  } else if (message.op === "apply") {
    inTurn(message.id, () => replica!.apply(unpackStored(message.events)));
  } else if (message.op === "load") {
    inTurn(message.id, () => loadSqlite(db.$client, message.tables));
  } else if (message.op === "write") {
    // Between groups, never inside one's transaction (nor inside a replica's apply).
    if (replica) replicaWork = replicaWork.then(() => write(message));
    else if (committing) waitingWrites.push(message);
    else write(message);
  } else if (message.op === "gc") {
    collect?.();
    send({ op: "collected", id: message.id });
  } else if (message.op === "stop") {
    void stop();
  }
});

function write(message: Extract<ToWriter, { op: "write" }>): void {
  try {
    send({ op: "written", id: message.id, changed: applySessionChange(db, message.change) });
  } catch (err) {
    send({ op: "written", id: message.id, changed: 0, error: (err as Error).message });
  }
}

async function flush(): Promise<void> {
  const batch = queue.take();
  committing = true;
  try {
    const { ts, outcomes } = await writer.commit(batch);
    send({ op: "committed", ts, outcomes });
  } catch (err) {
    send({ op: "failed", seqs: batch.map((r) => r.seq), message: (err as Error).message });
  } finally {
    committing = false;
  }
  for (const message of waitingWrites.splice(0)) write(message);
  if (queue.length > 0) setImmediate(flush);
  else scheduled = false;
}

async function stop(): Promise<void> {
  await retention.stop();
  // The main thread stops only once every append it accepted has been answered.
  while (scheduled) await nextTurn();
  await replicaWork;
  db.$client.close();
  send({ op: "stopped" });
  port.close();
}

if (!replica) retention.start();
send({ op: "ready" });
