import type { ServerResponse } from "node:http";
import { constants, Http2ServerResponse, type ServerHttp2Stream } from "node:http2";
import type { Socket } from "node:net";
import type { Context } from "hono";
import type { Sink } from "../hub/sink.js";
import type { NodeBindings } from "./env.js";

const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  // no-transform keeps compressing proxies from buffering the stream.
  "Cache-Control": "no-cache, no-transform",
  // Tells nginx not to buffer this response.
  "X-Accel-Buffering": "no",
};

/**
 * Takes over the Node response behind a Hono context and returns it as a
 * Sink. The route must return RESPONSE_ALREADY_SENT afterwards.
 *
 * Over HTTP/1.1 the Sink writes straight to the socket: `res.write` costs
 * about a quarter more per call than a pre-framed `socket.write` (it
 * re-frames the chunk and tracks state per call); streams write the same
 * frame to thousands of sockets, so the hub frames each chunk once and
 * writes bytes directly. Over HTTP/2 the socket carries every stream of the
 * connection in frames of the protocol's own, so the Sink writes to the
 * request's stream, which frames and flow-controls the bytes.
 */
export function openSseResponse(c: Context, onClose: () => void, extraHeaders: Record<string, string> = {}): Sink {
  const { outgoing } = c.env as NodeBindings;
  const headers = { ...SSE_HEADERS, ...extraHeaders };
  // `on`, not `once`: a response closes once, and `once` would keep a wrapper and its state per stream.
  outgoing.on("close", onClose);
  return outgoing instanceof Http2ServerResponse ? new StreamSink(outgoing, headers) : new SocketSink(outgoing, headers);
}

/*
 * The sinks are classes, not objects of closures: every idle stream holds
 * one, and methods on a prototype cost nothing per stream.
 */

/** Writes `chunks` in order; corked, they leave as one writev of the (shared) buffers: no per-subscriber concatenation. */
function writeGathered(out: Socket | ServerHttp2Stream, chunks: readonly Buffer[], written: () => void): void {
  if (out.destroyed) return;
  const last = chunks.length - 1;
  if (last > 0) out.cork();
  for (let i = 0; i < last; i++) out.write(chunks[i]);
  out.write(chunks[last], written);
  if (last > 0) out.uncork();
}

class SocketSink implements Sink {
  readonly chunked: boolean;
  readonly #socket: Socket;

  constructor(
    readonly outgoing: ServerResponse,
    headers: Record<string, string>,
  ) {
    outgoing.writeHead(200, headers);
    outgoing.flushHeaders();
    this.#socket = outgoing.socket!;
    this.#socket.setNoDelay(true);
    // Node decides on chunked encoding while storing the headers (HTTP/1.1 without a length).
    this.chunked = (outgoing as unknown as { chunkedEncoding: boolean }).chunkedEncoding === true;
  }

  write(chunks: readonly Buffer[], written: () => void): void {
    writeGathered(this.#socket, chunks, written);
  }

  buffered(): number {
    return this.#socket.writableLength;
  }

  end(): void {
    // Node writes the terminating chunk itself: it framed no body bytes of its own.
    if (!this.#socket.destroyed) this.outgoing.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/**
 * One HTTP/2 stream. Its unsent bytes are what the stream holds: a client
 * that stops reading exhausts the stream's flow-control window and they
 * grow, as a stalled socket's do. Cutting a slow client resets its stream
 * alone; the connection and the other streams on it (the operator's other
 * tabs) go on.
 */
class StreamSink implements Sink {
  readonly chunked = false;
  readonly #stream: ServerHttp2Stream;

  constructor(
    readonly outgoing: Http2ServerResponse,
    headers: Record<string, string>,
  ) {
    outgoing.writeHead(200, headers);
    this.#stream = outgoing.stream;
  }

  write(chunks: readonly Buffer[], written: () => void): void {
    writeGathered(this.#stream, chunks, written);
  }

  buffered(): number {
    return this.#stream.writableLength;
  }

  end(): void {
    if (!this.#stream.destroyed) this.outgoing.end();
  }

  destroy(): void {
    // RST_STREAM with CANCEL: the client sees an error, not the clean end of a finished stream.
    this.#stream.close(constants.NGHTTP2_CANCEL);
  }
}

/**
 * Drops a request without an answer: a network error to the client, which
 * an SSE client retries. Over HTTP/2 only its stream is refused; the
 * connection carries the client's other requests.
 */
export function dropRequest(c: Context): void {
  const { outgoing, incoming } = c.env as NodeBindings;
  if (outgoing instanceof Http2ServerResponse) outgoing.stream.close(constants.NGHTTP2_REFUSED_STREAM);
  else incoming.socket.destroy();
}
