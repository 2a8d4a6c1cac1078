import type { HttpBindings } from "@hono/node-server";
import type { ApiKey } from "../store/keys.js";

/** Hono environment of every route: Node's request/response, and the caller's key once authenticated. */
export type AppEnv = {
  Bindings: HttpBindings;
  Variables: { key: ApiKey };
};
