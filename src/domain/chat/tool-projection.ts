import { and, eq } from "drizzle-orm";
import type { z } from "zod";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { AppendRejected } from "../../store/event-log.js";
import type { Data } from "../domain.js";
import { MAX_TOOL_OUTPUT_CHARS, type toolCancelled, type toolCancelRequested, type toolCompleted, type toolFailed, type toolProgress, type toolStarted } from "./events.js";
import { answerFor, requireSession, touchSession } from "./projection.js";
import { toolRuns } from "./schema.js";

type ToolRun = typeof toolRuns.$inferSelect;

/** Applies tool.* events (subject: the tool run) to `tool_runs`, inside the append transaction. */
export async function projectTool(db: Db, e: StoredEvent, data: Data): Promise<void> {
  const toolId = e.subject!;
  const key = and(eq(toolRuns.tenant, e.tenant), eq(toolRuns.toolId, toolId));
  const run = await toolRunOf(db, e.tenant, toolId);

  if (e.type === "tool.started") {
    const d = data as z.output<typeof toolStarted>;
    if (run) throw new AppendRejected(409, `tool run ${toolId} has already started (in session ${run.sessionId})`);
    // The run belongs to a message of the session: the answer it is part of (created by reply_to if
    // the agent runs a tool before streaming any text), or the user message it serves.
    await answerFor(db, e, d.session_id, d, "streaming", { allowUser: true });
    await db
      .insert(toolRuns)
      .values({ tenant: e.tenant, toolId, sessionId: d.session_id, messageId: d.message_id, name: d.name, status: "running", startedAt: e.ts, updatedAt: e.ts, eventId: e.id });
    await touchSession(db, e, d.session_id);
    return;
  }

  if (!run) throw new AppendRejected(409, `no tool run ${toolId}; it starts with tool.started`);
  if (run.status !== "running") throw new AppendRejected(409, `tool run ${toolId} has already ${run.status}`);
  let next: Partial<ToolRun>;
  switch (e.type) {
    case "tool.progress": {
      const d = data as z.output<typeof toolProgress>;
      next = { progress: d.progress ?? run.progress, output: appendOutput(run.output, d.output) };
      break;
    }
    case "tool.completed": {
      const d = data as z.output<typeof toolCompleted>;
      next = { status: "completed", progress: 1, output: appendOutput(run.output, d.output), cancelRequested: false };
      break;
    }
    case "tool.failed": {
      const d = data as z.output<typeof toolFailed>;
      next = { status: "failed", error: d.reason, cancelRequested: false };
      break;
    }
    case "tool.cancelled": {
      const d = data as z.output<typeof toolCancelled>;
      next = { status: "cancelled", error: d.reason ?? null, cancelRequested: false };
      break;
    }
    case "tool.cancel_requested": {
      const d = data as z.output<typeof toolCancelRequested>;
      const { agent } = await requireSession(db, e.tenant, run.sessionId);
      if (d.worker !== agent) {
        throw new AppendRejected(409, `data.worker must be the agent of session ${run.sessionId} (${agent}), who runs the tool, not ${d.worker}`);
      }
      // Asking again while a request is pending is allowed: it only delivers the command once more.
      next = { cancelRequested: true };
      break;
    }
    default:
      return;
  }
  await db
    .update(toolRuns)
    .set({ ...next, updatedAt: e.ts, eventId: e.id })
    .where(key);
  await touchSession(db, e, run.sessionId);
}

/** A tool run as the append transaction sees it. */
export async function toolRunOf(db: Db, tenant: string, toolId: string): Promise<ToolRun | undefined> {
  const [run] = await db.select().from(toolRuns).where(and(eq(toolRuns.tenant, tenant), eq(toolRuns.toolId, toolId))).limit(1);
  return run;
}

/**
 * A tool's output so far with `chunk` added, keeping only the last
 * MAX_TOOL_OUTPUT_CHARS characters: a chatty tool cannot grow a row (or
 * every session read) without bound, and the tail is what a user watches.
 */
export function appendOutput(current: string, chunk: string | undefined): string {
  if (!chunk) return current;
  const all = current + chunk;
  if (all.length <= MAX_TOOL_OUTPUT_CHARS) return all;
  const tail = all.slice(all.length - MAX_TOOL_OUTPUT_CHARS);
  // Never begin with the second half of a UTF-16 surrogate pair (half an emoji).
  return /^[\uDC00-\uDFFF]/.test(tail) ? tail.slice(1) : tail;
}
