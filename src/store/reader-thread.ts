/**
 * A reader thread of the log: answers history reads (history pages, stream
 * catch-up) on its own connection. WAL lets it read while the writer
 * commits; each read sees one snapshot, in which it also reads the head, so
 * `through` never claims an event the read could not see. For JSON streams'
 * replays it also encodes each page into its SSE frames (see FramesPage),
 * and it runs the WAL's checkpoints when asked (see WalCheckpoints), so that
 * the writer's commits never wait for one.
 */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { finishJsonFrame } from "../hub/json-frame.js";
import { fullCollector } from "../memory.js";
import type { ReadQuery } from "./event-log.js";
import { EventReader, type FrameRow } from "./event-reads.js";
import type { FromReader, ReaderOptions, ToReader } from "./reader-protocol.js";

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
const options = workerData as ReaderOptions;
const sqlite = new Database(options.path);
sqlite.pragma("query_only = ON");
sqlite.pragma("busy_timeout = 5000");
const reader = new EventReader(sqlite);
const headOf = sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck();
const prunedOf = sqlite.prepare("SELECT pruned_through FROM tenants WHERE slug = ?").pluck();
/**
 * `read` in a deferred transaction: its first read (the head) fixes the snapshot every later read in it
 * sees, the tenant's pruned mark included, so the mark and the page agree.
 */
function inSnapshot<P extends object>(read: (query: ReadQuery, head: number) => P) {
  return sqlite.transaction((query: ReadQuery) => {
    const page = read(query, (headOf.get() as number | undefined) ?? 0);
    const prunedThrough = query.tenant === null ? undefined : ((prunedOf.get(query.tenant) as number | undefined) ?? 0);
    return { ...page, prunedThrough };
  });
}
const snapshotRead = inSnapshot((query, head) => reader.readColumns(query, head));
const snapshotFrames = inSnapshot((query, head) => reader.readFrames(query, head));

const collect = fullCollector();

port.on("message", (message: ToReader) => {
  if (message.op === "gc") {
    collect?.();
    send({ op: "collected", id: message.id });
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
      const { events, through, prunedThrough } = snapshotRead(message.query);
      send({ op: "page", id: message.id, events, through, prunedThrough });
    } catch (err) {
      send({ op: "error", id: message.id, message: (err as Error).message });
    }
  } else if (message.op === "frames") {
    try {
      const page = snapshotFrames(message.query);
      const { slot, length, bytes, ends, ids, through } = encodeFrames(page.rows, page.through, message.slot);
      const { prunedThrough } = page;
      port.postMessage({ op: "frames", id: message.id, slot, length, bytes, ends, ids, through, prunedThrough } satisfies FromReader, bytes ? [bytes.buffer] : []);
    } catch (err) {
      send({ op: "error", id: message.id, message: (err as Error).message });
    }
  } else {
    sqlite.close();
    send({ op: "stopped" });
    port.close();
  }
});

/**
 * A page's JSON stream frames, in `slot` of the shared buffer: as many of
 * them as fit (the page then goes `through` the last of them). Where even
 * the first does not fit, or no slot was free, in one buffer of its own
 * (never Buffer's shared pool: it is transferred).
 */
function encodeFrames(rows: readonly FrameRow[], pageThrough: number, slot: number) {
  const n = rows.length;
  const texts: string[] = [];
  const ends: number[] = [];
  const ids: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const [id, ts, start] = rows[i];
    const text = finishJsonFrame(start, ts);
    const end = total + Buffer.byteLength(text);
    if (slot >= 0 && end > options.slotBytes && i > 0) break;
    texts.push(text);
    ends.push((total = end));
    ids.push(id);
  }
  const through = texts.length < n ? ids[ids.length - 1] : pageThrough;
  const inSlot = slot >= 0 && total <= options.slotBytes;
  const bytes = inSlot ? null : new Uint8Array(total);
  const out = inSlot ? Buffer.from(options.frames, slot * options.slotBytes, total) : Buffer.from(bytes!.buffer, 0, total);
  for (let i = 0; i < texts.length; i++) out.write(texts[i], i === 0 ? 0 : ends[i - 1]);
  return { slot: inSlot ? slot : -1, length: total, bytes, ends, ids, through };
}

send({ op: "ready" });
