/**
 * A reader thread of the log: answers history reads (history pages, stream
 * catch-up) on its own connection. WAL lets it read while the writer
 * commits; each read sees one snapshot, in which it also reads the head, so
 * `through` never claims an event the read could not see. It also runs the
 * WAL's checkpoints when asked (see WalCheckpoints), so that the writer's
 * commits never wait for one.
 */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { fullCollector } from "../memory.js";
import { jsonFrame } from "../hub/json-frame.js";
import type { StoredEventColumns } from "./event-columns.js";
import type { ReadQuery } from "./event-log.js";
import { EventReader } from "./event-reads.js";
import type { FromReader, ToReader } from "./reader-protocol.js";

const port = parentPort!;

// Reads are bulk work (a replay from 0 reads as fast as it is allowed); requests, live delivery and
// commits are not. Linux nice values belong to threads, so this lowers only this reader's priority:
// on a busy machine the event loop's thread and the writer run first. Where it cannot be set, nothing changes.
try {
  setPriority(10);
} catch {
  // Not permitted here: readers run at the process's priority.
}
const send = (message: FromReader) => port.postMessage(message);

// better-sqlite3 directly, not drizzle: a reader runs one query, and each module a thread loads costs memory.
const sqlite = new Database((workerData as { path: string }).path);
sqlite.pragma("query_only = ON");
sqlite.pragma("busy_timeout = 5000");
const reader = new EventReader(sqlite);
const headOf = sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck();
// A deferred transaction: its first read fixes the snapshot every later read in it sees.
const snapshotRead = sqlite.transaction((query: ReadQuery) => reader.readColumns(query, (headOf.get() as number | undefined) ?? 0));

const collect = fullCollector();

port.on("message", (message: ToReader) => {
  if (message.op === "gc") {
    collect?.();
  } else if (message.op === "checkpoint") {
    try {
      // PASSIVE: copies what no reader still needs into the database file, without waiting for anyone or
      // holding the writer up (it appends to the WAL meanwhile).
      const [r] = sqlite.pragma("wal_checkpoint(PASSIVE)") as { busy: number; log: number; checkpointed: number }[];
      send({ op: "checkpointed", id: message.id, walPages: r.log, checkpointedPages: r.checkpointed });
    } catch (err) {
      send({ op: "error", id: message.id, message: (err as Error).message });
    }
  } else if (message.op === "read") {
    try {
      const { events, through } = snapshotRead(message.query);
      send({ op: "page", id: message.id, events, through });
    } catch (err) {
      send({ op: "error", id: message.id, message: (err as Error).message });
    }
  } else if (message.op === "frames") {
    try {
      const { events, through } = snapshotRead(message.query);
      const { bytes, ends, ids } = encodeFrames(events);
      port.postMessage({ op: "frames", id: message.id, bytes, ends, ids, through } satisfies FromReader, [bytes.buffer, ends.buffer, ids.buffer]);
    } catch (err) {
      send({ op: "error", id: message.id, message: (err as Error).message });
    }
  } else {
    sqlite.close();
    send({ op: "stopped" });
    port.close();
  }
});

/** A page's JSON stream frames in one buffer of its own (never Buffer's shared pool: it is transferred). */
function encodeFrames(columns: StoredEventColumns): { bytes: Uint8Array<ArrayBuffer>; ends: Uint32Array<ArrayBuffer>; ids: Float64Array<ArrayBuffer> } {
  const n = columns.ids.length;
  const texts = new Array<string>(n);
  const ends = new Uint32Array(n);
  const ids = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const text = jsonFrame({
      id: columns.ids[i],
      tenant: columns.tenants[i],
      type: columns.types[i],
      subject: columns.subjects[i],
      data: columns.data[i],
      key: columns.keys[i],
      ts: columns.ts[i],
    });
    texts[i] = text;
    total += Buffer.byteLength(text);
    ends[i] = total;
    ids[i] = columns.ids[i];
  }
  const bytes = new Uint8Array(total);
  const out = Buffer.from(bytes.buffer, 0, total);
  for (let i = 0; i < n; i++) out.write(texts[i], i === 0 ? 0 : ends[i - 1]);
  return { bytes, ends, ids };
}

send({ op: "ready" });
