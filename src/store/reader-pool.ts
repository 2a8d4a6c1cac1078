import type { Worker } from "node:worker_threads";
import { unpackStored } from "./event-columns.js";
import type { FramesPage, ReadPage, ReadQuery } from "./event-log.js";
import type { CheckpointResult, FromReader, ReaderOptions, ToReader } from "./reader-protocol.js";
import { startThread } from "./threads.js";

interface Reader {
  thread: Worker;
  waiting: Map<number, Waiter<ReadPage> | Waiter<FramesPage> | Waiter<CheckpointResult> | Waiter<void>>;
  /** Where it writes frames pages (see ReaderOptions), the slots not in use, and the slot of each frames request. */
  frames: SharedArrayBuffer;
  free: number[];
  slotOf: Map<number, number>;
}

/** Frames slots per reader, and their size: a page as large as the default stream buffer's half. */
const SLOTS = 8;
const SLOT_BYTES = 512 * 1024;

interface Waiter<T> {
  resolve: (answer: T) => void;
  reject: (error: Error) => void;
}

/**
 * History reads off the main thread: a few reader threads, each with its own
 * connection. A read goes to the reader with the fewest reads waiting, and
 * each answers its reads in order, one page at a time, so a long replay is
 * many small reads interleaved with everyone else's. The readers also run
 * the WAL's checkpoints, the same way.
 */
export class ReaderPool {
  readonly #readers: Reader[] = [];
  #nextId = 0;

  private constructor(private readonly path: string) {}

  /** Starts `size` readers on the database at `path` and waits until each has opened it. */
  static async start(path: string, size: number): Promise<ReaderPool> {
    const pool = new ReaderPool(path);
    await Promise.all(Array.from({ length: size }, () => pool.#spawn()));
    return pool;
  }

  read(query: ReadQuery): Promise<ReadPage> {
    return this.#ask<ReadPage>((id) => ({ op: "read", id, query }));
  }

  readFrames(query: ReadQuery): Promise<FramesPage> {
    return this.#ask<FramesPage>((id, reader) => {
      const slot = reader.free.pop() ?? -1;
      if (slot >= 0) reader.slotOf.set(id, slot);
      return { op: "frames", id, query, slot };
    });
  }

  /** Checkpoints the WAL (PASSIVE) on one reader's connection. */
  checkpoint(): Promise<CheckpointResult> {
    return this.#ask<CheckpointResult>((id) => ({ op: "checkpoint", id }));
  }

  #ask<T extends ReadPage | FramesPage | CheckpointResult>(message: (id: number, reader: Reader) => ToReader): Promise<T> {
    // The reader with the fewest requests waiting; among equals, the next in turn, so both cores work.
    const n = this.#readers.length;
    const from = this.#nextId % n;
    let reader = this.#readers[from];
    for (let k = 1; k < n; k++) {
      const r = this.#readers[(from + k) % n];
      if (r.waiting.size < reader.waiting.size) reader = r;
    }
    return this.#askOf<T>(reader, message);
  }

  #askOf<T extends ReadPage | FramesPage | CheckpointResult | void>(reader: Reader, message: (id: number, reader: Reader) => ToReader): Promise<T> {
    const id = ++this.#nextId;
    return new Promise<T>((resolve, reject) => {
      reader.waiting.set(id, { resolve, reject } as Waiter<ReadPage> | Waiter<FramesPage> | Waiter<CheckpointResult> | Waiter<void>);
      reader.thread.postMessage(message(id, reader));
    });
  }

  /** A full collection in each reader, one reader after the other (see EventLog.collectGarbage). */
  async collectGarbage(): Promise<void> {
    for (const reader of [...this.#readers]) await this.#askOf<void>(reader, (id) => ({ op: "gc", id }));
  }

  /** Stops every reader (reads still waiting are answered first: each reader works in order). */
  async stop(): Promise<void> {
    const readers = this.#readers.splice(0);
    await Promise.all(
      readers.map(
        (r) =>
          new Promise<void>((resolve) => {
            r.thread.once("exit", () => resolve());
            r.thread.postMessage({ op: "stop" } satisfies ToReader);
          }),
      ),
    );
  }

  #spawn(): Promise<void> {
    const frames = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
    const options: ReaderOptions = { path: this.path, frames, slotBytes: SLOT_BYTES };
    const free = Array.from({ length: SLOTS }, (_, i) => i);
    const reader: Reader = { thread: startThread("./reader-thread.ts", options), waiting: new Map(), frames, free, slotOf: new Map() };
    this.#readers.push(reader);
    return new Promise((ready, failed) => {
      reader.thread.on("message", (message: FromReader) => {
        if (message.op === "ready") return ready();
        if (message.op === "stopped") return;
        const waiter = reader.waiting.get(message.id);
        reader.waiting.delete(message.id);
        const slot = reader.slotOf.get(message.id) ?? -1;
        reader.slotOf.delete(message.id);
        if (slot >= 0 && (message.op !== "frames" || message.slot !== slot)) reader.free.push(slot);
        if (message.op === "page") {
          const { through, prunedThrough } = message;
          (waiter as Waiter<ReadPage> | undefined)?.resolve({ events: unpackStored(message.events), through, prunedThrough });
        }
        else if (message.op === "frames") (waiter as Waiter<FramesPage> | undefined)?.resolve(framesPage(reader, message));
        else if (message.op === "checkpointed") (waiter as Waiter<CheckpointResult> | undefined)?.resolve({ walPages: message.walPages, checkpointedPages: message.checkpointedPages });
        else if (message.op === "collected") (waiter as Waiter<void> | undefined)?.resolve();
        else waiter?.reject(new Error(`history read failed: ${message.message}`));
      });
      reader.thread.once("error", (err) => {
        // Its slots go with it: pages still being written keep the shared buffer alive until they are done.
        reader.free = [];
        failed(err);
        // A reader that died fails what it held; the pool replaces it, so later reads go on.
        for (const waiter of reader.waiting.values()) waiter.reject(new Error(`history reader stopped: ${err.message}`));
        reader.waiting.clear();
        const at = this.#readers.indexOf(reader);
        if (at !== -1) {
          this.#readers.splice(at, 1);
          void this.#spawn().catch(() => {});
        }
      });
    });
  }
}

/** A frames answer as a page: a view of its slot, given back on release, or the buffer the reader made. */
function framesPage(reader: Reader, message: Extract<FromReader, { op: "frames" }>): FramesPage {
  const { slot, length, bytes, ends, ids, through, prunedThrough } = message;
  if (slot < 0) return { frames: Buffer.from(bytes!.buffer, bytes!.byteOffset, length), ends, ids, through, prunedThrough, release: () => {} };
  let released = false;
  return {
    frames: Buffer.from(reader.frames, slot * SLOT_BYTES, length),
    ends,
    ids,
    through,
    prunedThrough,
    release: () => {
      if (released) return;
      released = true;
      reader.free.push(slot);
    },
  };
}
