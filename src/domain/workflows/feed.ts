import type { FeedTopic } from "../../console/feed-topic.js";
import { findWorkflow } from "./queries.js";

/** Progress reports change a workflow's bar, never its state. */
export const WORKFLOW_TICKS = ["workflow.progress"] as const;

/** Workflows in the feed: by their name; progress folds into the workflow's newest item. */
export const workflowsFeed: FeedTopic = {
  topic: "workflow",
  ticks: WORKFLOW_TICKS,
  folded: ["workflow.started", "workflow.retried", "workflow.resumed", "workflow.paused", "workflow.control_requested", "workflow.control_expired"],
  label: (db, tenant, workflowId) => findWorkflow(db, tenant, workflowId)?.name ?? null,
};
