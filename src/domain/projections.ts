import type { StoredEvent } from "../event.js";
import type { Db } from "../store/db.js";
import { AppendRejected } from "../store/event-log.js";
import type { AppendRequest } from "../store/sqlite-writer.js";
import { describeBinding, workerMatcher, type WorkerBinding } from "../worker-binding.js";
import { agentsProjection } from "./agents/projection.js";
import { callsProjection } from "./calls/projection.js";
import { channelsProjection } from "./channels/projection.js";
import { chatProjection } from "./chat/projection.js";
import { mercureProjection } from "./mercure/projection.js";
import type { Data, Projection } from "./domain.js";
import { topicOf } from "./registry.js";
import { workflowsProjection } from "./workflows/projection.js";

/**
 * Every domain's projection. Only this module (and what it imports) is
 * loaded by the log's writer thread: no routes, views or timers.
 */
export const projections: readonly Projection[] = [callsProjection, agentsProjection, channelsProjection, workflowsProjection, chatProjection, mercureProjection];

const projectedTopics: ReadonlySet<string> = new Set(projections.flatMap((p) => p.topics));

/** Whether an event of this type changes a domain's state: generic (unreserved) types do not. */
export const hasProjection = (type: string): boolean => projectedTopics.has(topicOf(type));

/** Whether no projection reads events of this type: what the writers insert many rows at a time (SqliteWriterOptions.plain). */
export const isPlainType = (type: string): boolean => !hasProjection(type);

/** Every worker event type (see Projection.workers): publishing one needs the work scope. */
export const workerEventTypes: ReadonlySet<string> = new Set(projections.flatMap((p) => Object.keys(p.workers ?? {})));

/**
 * The append hook that keeps every projection in step with the log: applies
 * each new event to its domain's tables on `db`, the append transaction's
 * connection (SQLite's writer, or a PostgreSQL node's transaction). Generic (unreserved) types have no projection. A request
 * from a key bound to workers is refused (403) at its first worker event
 * that speaks for another worker.
 */
export function createProjector(): (db: Db, event: StoredEvent, index: number, request: AppendRequest) => Promise<void> | undefined {
  const byTopic = new Map<string, Projection>();
  for (const p of projections) for (const topic of p.topics) byTopic.set(topic, p);
  // One matcher per request, made at its first worker event.
  const matchers = new WeakMap<readonly string[], (worker: string) => boolean>();
  // Generic events (most of a large ingest) have no projection: no promise for them.
  return (db, event, index, request) => {
    const projection = byTopic.get(topicOf(event.type));
    return projection && project(db, projection, event, index, request);
  };

  async function project(db: Db, projection: Projection, event: StoredEvent, index: number, request: AppendRequest): Promise<void> {
    const data = JSON.parse(event.data) as Data;
    await projection.project(db, event, data);
    const workerOf = projection.workers?.[event.type];
    const binding = request.workers ?? null;
    if (!workerOf || binding === null) return;
    let matches = matchers.get(binding);
    if (!matches) matchers.set(binding, (matches = workerMatcher(binding)));
    const worker = await workerOf(db, event, data);
    if (worker === null || !matches(worker)) throw notItsWorker(event, index, request.events.length, worker, binding);
  }
}

function notItsWorker(event: StoredEvent, index: number, count: number, worker: string | null, binding: NonNullable<WorkerBinding>): AppendRejected {
  const what = `${event.type} of ${event.subject}`;
  const reason =
    worker === null
      ? `${what} names no worker, and this key may speak only for workers ${describeBinding(binding)}: name one of them (data.worker)`
      : `${what} speaks for worker "${worker}", and this key may speak only for workers ${describeBinding(binding)}`;
  return new AppendRejected(403, count === 1 ? reason : `event ${index} of ${count}: ${reason}; nothing was appended`, count === 1 ? undefined : [{ index, reason }]);
}
