import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import type { Sink } from "../hub/sink.js";

const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  // no-transform keeps compressing proxies from buffering the stream.
  "Cache-Control": "no-cache, no-transform",
  // Tells nginx not to buffer this response.
  "X-Accel-Buffering": "no",
};

/**
 * Takes over the Node response behind a Hono context and returns it as a
 * Sink writing straight to the socket. `res.write` costs about a quarter
 * more per call than a pre-framed `socket.write` (it re-frames the chunk and
 * tracks state per call); streams write the same frame to thousands of
 * sockets, so the hub frames each chunk once and writes bytes directly.
 * The route must return RESPONSE_ALREADY_SENT afterwards.
 */
export function openSseResponse(c: Context, onClose: () => void, extraHeaders: Record<string, string> = {}): Sink {
  const { outgoing } = c.env as HttpBindings;
  outgoing.writeHead(200, { ...SSE_HEADERS, ...extraHeaders });
  outgoing.flushHeaders();
  const socket = outgoing.socket!;
  socket.setNoDelay(true);
  // Node decides on chunked encoding while storing the headers (HTTP/1.1 without a length).
  const chunked = (outgoing as unknown as { chunkedEncoding: boolean }).chunkedEncoding === true;
  outgoing.once("close", onClose);
  return {
    chunked,
    write(chunks, written) {
      if (socket.destroyed) return;
      // Corked, the writes leave as one writev of the (shared) buffers: no per-subscriber concatenation.
      const last = chunks.length - 1;
      if (last > 0) socket.cork();
      for (let i = 0; i < last; i++) socket.write(chunks[i]);
      socket.write(chunks[last], written);
      if (last > 0) socket.uncork();
    },
    buffered: () => socket.writableLength,
    end() {
      // Node writes the terminating chunk itself: it framed no body bytes of its own.
      if (!socket.destroyed) outgoing.end();
    },
    destroy() {
      socket.destroy();
    },
  };
}
