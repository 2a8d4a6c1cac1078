import diagnostics from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";

/**
 * Calls `seen` with the next request to `path` that a server in this
 * process starts on (Node's `http.server.request.start` channel), as its
 * head is parsed: before the server's own handler, in the same turn, so a
 * listener `seen` adds to the request runs before the server's.
 */
export function onNextRequest(path: string, seen: (request: IncomingMessage) => void): void {
  const onStart = (message: unknown) => {
    const { request } = message as { request: IncomingMessage };
    if (request.url !== path) return;
    diagnostics.unsubscribe("http.server.request.start", onStart);
    seen(request);
  };
  diagnostics.subscribe("http.server.request.start", onStart);
}
