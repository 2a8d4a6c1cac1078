import type { Hono } from "hono";
import { z } from "zod";
import type { StoredEvent } from "../event.js";
import type { AppEnv } from "../http/env.js";
import type { StreamDeps } from "../http/stream-routes.js";
import type { Logger } from "../logger.js";
import type { Db } from "../store/db.js";
import type { EventLog } from "../store/event-log.js";
import type { PublishLimiter } from "../http/rate-limit.js";
import type { Presence } from "./agents/presence.js";
import type { Domains } from "./registry.js";

/** The data object of an event, once validated (and possibly transformed, e.g. masked). */
export type Data = Record<string, unknown>;

/** How one domain event type is validated and used. */
export interface TypeSpec {
  /** Validates (and may transform) `data`; unknown fields are rejected. */
  schema: z.ZodType<Data, unknown>;
  /** Whether the event must name its entity in `subject`. */
  subject: "required" | "optional";
  /**
   * Commands are delivered to workers on their command streams. Their data
   * names the target: `worker` (one worker) and/or `kind` (any worker of a kind).
   */
  command?: boolean;
  /**
   * An operator's decision about the state that no worker needs to carry
   * out (removing a failed channel): publishing it needs the control scope,
   * as a command does, but it goes to no command stream.
   */
  control?: boolean;
  /** Appended by Switchboard itself (presence, expiry); producers may not publish it. */
  internal?: boolean;
}

/**
 * A domain's projection: keeps its current-state tables in step with the
 * log. `project` runs inside the append transaction, on the writer's own
 * connection (SQLite's writer thread, or a PostgreSQL node's append
 * transaction); throwing AppendRejected (400/409) rejects the request and
 * rolls back everything it did. It is written once for both databases:
 * drizzle's builders, awaited (never SQLite's synchronous `.get()`,
 * `.all()`, `.run()`), and SQL both understand.
 */
export interface Projection {
  /** Topics (the part of a type before the first dot) whose events it applies. */
  topics: string[];
  project(db: Db, event: StoredEvent, data: Data): Promise<void>;
  /**
   * Worker events: the types a worker publishes about its own work (its
   * answers to commands and its reports), each with the worker it speaks
   * for. Publishing one needs the work scope, and a key bound to workers may
   * publish it only for them. Read after the event is applied, in the same
   * transaction, so a request that starts a workflow and reports on it is
   * judged on its own state; null when the event names no worker.
   */
  workers?: Record<string, WorkerOf>;
}

/** The worker an event speaks for, from the event and the state it left; null when it names none. */
export type WorkerOf = (db: Db, event: StoredEvent, data: Data) => Promise<string | null>;

/**
 * A domain: the event types of its topics, its projection, and what it
 * does after commits (deadlines) on the main thread.
 */
export interface Domain {
  name: string;
  /** Topics (the part of a type before the first dot) this domain reserves. */
  topics: string[];
  types: Record<string, TypeSpec>;
  /**
   * Called after each commit with the domain's committed events (never for
   * rolled-back ones): where timers for deadlines are set, e.g. a command
   * that expires unanswered.
   */
  onCommit?(event: StoredEvent): void;
  /** On boot, after the server listens: re-arm deadlines from the projection. */
  start?(): void;
  /** On shutdown: clear timers. */
  stop?(): void;
}

/** What a domain is built from. */
export interface DomainContext {
  db: Db;
  log: EventLog;
  logger: Logger;
  /** How long a command may wait for its worker's answer. */
  commandTimeoutMs: number;
}

/** Routes a domain adds to the API (state, detail, commands, webhooks). */
export type DomainRoutes = Hono<AppEnv>;

/** Target fields every command's data carries. */
export const commandTarget = {
  worker: z.string().min(1).max(200).optional(),
  kind: z.string().min(1).max(100).optional(),
};

/** A compact reason from a zod error: `data.progress: must be between 0 and 1`. */
export function zodReason(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue.code === "unrecognized_keys") return `data has unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  const path = issue.path.length > 0 ? `data.${issue.path.join(".")}` : "data";
  return `${path}: ${issue.message}`;
}

/** What a domain's routes may use. */
export interface DomainDeps extends StreamDeps {
  db: Db;
  domains: Domains;
  presence: Presence;
  maxEventBytes: number;
  /** How deep a command's JSON body may nest (MAX_JSON_DEPTH). */
  maxJsonDepth: number;
  /** Each key's publishing allowance: a command costs one event. */
  limiter: PublishLimiter;
}
