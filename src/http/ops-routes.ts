import type Database from "better-sqlite3";
import { Hono } from "hono";
import type { Registry } from "prom-client";
import type { EventLog } from "../store/event-log.js";
import type { AppEnv } from "./env.js";

export interface OpsDeps {
  sqlite: Database.Database;
  log: EventLog;
  metrics: Registry;
  /** On a cluster: whether this node reaches PostgreSQL. Not ready, /healthz answers 503 so a balancer sends requests elsewhere. */
  ready?: () => boolean;
}

/** Health check and Prometheus metrics: unauthenticated, and holding no tenant data. */
export function opsRoutes(deps: OpsDeps) {
  const app = new Hono<AppEnv>();
  const ping = deps.sqlite.prepare("SELECT 1").pluck();

  app.get("/healthz", (c) => {
    try {
      ping.get();
      if (deps.ready && !deps.ready()) return c.json({ status: "unavailable", message: "the PostgreSQL connection is down; reconnecting" }, 503);
      return c.json({ status: "ok", head: deps.log.head() });
    } catch (err) {
      return c.json({ status: "unavailable", message: `database check failed: ${(err as Error).message}` }, 503);
    }
  });

  app.get("/metrics", async (c) => c.body(await deps.metrics.metrics(), 200, { "Content-Type": deps.metrics.contentType }));
  return app;
}
