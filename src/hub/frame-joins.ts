/** Queues of up to this many bytes are written as one joined buffer (see FrameJoins). */
const JOIN_MAX_BYTES = 16 * 1024;
/** Joins kept for reuse within one flush: streams of one group are flushed one after another. */
const KEPT = 8;

/**
 * One buffer for a stream's queue of several small frames, shared by every
 * stream whose queue holds the same frames, for the length of one flush.
 *
 * A stream that has two or more frames queued (a commit group of several
 * events, or a publish that came while the last flush was still writing)
 * was written as a gathered write of the shared frames. At 1,000 streams
 * Node's part of such a write (corking, buffering each frame as a write of
 * its own, then the native writev reading every buffer back out of a
 * JavaScript array) cost about as much CPU as the kernel's send (perf,
 * bench/README). Joined, the queue is one buffer and one plain write. The
 * streams of a group queue the same frames, so the join is made once for all
 * of them, not once per stream. A stream whose queue is its own (another
 * filter) gets a join of its own, of at most JOIN_MAX_BYTES, which the
 * queue's accounting counts as it counted the frames.
 */
export class FrameJoins {
  #kept: { chunks: readonly Buffer[]; joined: Buffer }[] = [];

  /** What to write for a queue of `chunks` (`bytes` of frames): one joined buffer when it is several small frames, else the frames. */
  write(chunks: readonly Buffer[], bytes: number): readonly Buffer[] {
    return chunks.length > 1 && bytes <= JOIN_MAX_BYTES ? [this.#of(chunks)] : chunks;
  }

  /** `chunks` as one buffer: the one made for the same frames in this flush, if any. */
  #of(chunks: readonly Buffer[]): Buffer {
    for (const k of this.#kept) {
      if (sameChunks(k.chunks, chunks)) return k.joined;
    }
    const joined = Buffer.concat(chunks as Buffer[]);
    if (this.#kept.length === KEPT) this.#kept.shift();
    this.#kept.push({ chunks, joined });
    return joined;
  }
}

function sameChunks(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
