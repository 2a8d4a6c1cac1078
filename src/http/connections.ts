import type { ServerType } from "@hono/node-server";
import type { Http2Session } from "node:http2";
import type { Socket } from "node:net";

/** Ends a server's client connections when it stops. */
export interface ConnectionCloser {
  /** Closes the connections with nothing in flight; called again and again while the stop goes on. */
  dropIdle(): void;
  /** Closes every connection left, answered or not. */
  dropAll(): void;
}

/**
 * Node's HTTP/1.1 server knows which of its connections are idle. Its
 * HTTP/2 server (with HTTP/1.1 for older clients) knows only the HTTP/1.1
 * ones; its HTTP/2 sessions are tracked here and told to go away (GOAWAY),
 * which closes each once the requests in flight on it have been answered.
 */
export function connectionCloser(server: ServerType): ConnectionCloser {
  if ("closeAllConnections" in server) {
    return { dropIdle: () => server.closeIdleConnections(), dropAll: () => server.closeAllConnections() };
  }
  const sessions = new Set<Http2Session>();
  const sockets = new Set<Socket>();
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return {
    dropIdle() {
      if ("closeIdleConnections" in server && typeof server.closeIdleConnections === "function") server.closeIdleConnections();
      for (const session of sessions) if (!session.closed) session.close();
    },
    dropAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
