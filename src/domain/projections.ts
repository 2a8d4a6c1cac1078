import type { StoredEvent } from "../event.js";
import type { Db } from "../store/db.js";
import { agentsProjection } from "./agents/projection.js";
import { callsProjection } from "./calls/projection.js";
import { channelsProjection } from "./channels/projection.js";
import { chatProjection } from "./chat/projection.js";
import type { Data, Projection } from "./domain.js";
import { topicOf } from "./registry.js";
import { workflowsProjection } from "./workflows/projection.js";

/**
 * Every domain's projection. Only this module (and what it imports) is
 * loaded by the log's writer thread: no routes, views or timers.
 */
export const projections: readonly Projection[] = [callsProjection, agentsProjection, channelsProjection, workflowsProjection, chatProjection];

/**
 * The append hook that keeps every projection in step with the log: applies
 * each new event to its domain's tables on `db`, inside the append
 * transaction. Generic (unreserved) types have no projection.
 */
export function createProjector(db: Db): (event: StoredEvent) => void {
  const byTopic = new Map<string, Projection>();
  for (const p of projections) for (const topic of p.topics) byTopic.set(topic, p);
  return (event) => {
    const projection = byTopic.get(topicOf(event.type));
    if (projection) projection.project(db, event, JSON.parse(event.data) as Data);
  };
}
