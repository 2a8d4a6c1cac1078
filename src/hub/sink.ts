/**
 * Where a stream's bytes go: the transport adapter behind a subscriber
 * (http/sse-response.ts for Node's HTTP server). Kept tiny so the hub has no
 * HTTP in it and tests can use any byte sink.
 */
export interface Sink {
  /** True when bytes must be wrapped as HTTP/1.1 chunks before `write`. */
  readonly chunked: boolean;
  /**
   * Writes the buffers in order as one gathered write, without copying them:
   * they may be shared with other sinks and must stay unmodified. `written`
   * is called once they have all been handed to the kernel (or the write failed).
   */
  write(chunks: readonly Buffer[], written: () => void): void;
  /** Bytes accepted by `write` but not yet handed to the kernel. */
  buffered(): number;
  /** Ends the stream cleanly. */
  end(): void;
  /** Drops the connection at once (used for slow consumers). */
  destroy(): void;
}
