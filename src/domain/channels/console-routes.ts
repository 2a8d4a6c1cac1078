import { Hono } from "hono";
import type { ConsoleDeps, ConsoleEnv } from "../../console/routes.js";

/** The channels pages and control forms of the console (mounted behind the console's session and CSRF checks). */
export function channelsConsoleRoutes(deps: ConsoleDeps) {
  return new Hono<ConsoleEnv>();
}
