import { Hono } from "hono";
import type { ConsoleDeps, ConsoleEnv } from "../../console/routes.js";

/** The chat pages and control forms of the console (mounted behind the console's session and CSRF checks). */
export function chatConsoleRoutes(deps: ConsoleDeps) {
  return new Hono<ConsoleEnv>();
}
