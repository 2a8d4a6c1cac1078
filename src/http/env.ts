import type { Http2Bindings, HttpBindings } from "@hono/node-server";
import type { ApiKey } from "../store/keys.js";

/** Node's request and response: HTTP/1.1, or HTTP/2 when Switchboard serves TLS itself. */
export type NodeBindings = HttpBindings | Http2Bindings;

/** Hono environment of every route: Node's request/response, and the caller's key once authenticated. */
export type AppEnv = {
  Bindings: NodeBindings;
  Variables: { key: ApiKey };
};
