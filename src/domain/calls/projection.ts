import { and, eq } from "drizzle-orm";
import type { z } from "zod";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { AppendRejected } from "../../store/event-log.js";
import type { Data, Projection } from "../domain.js";
import type { callAnalyzed, callEnded, callStarted } from "./events.js";
import { calls } from "./schema.js";

/** Applies call events to the `calls` table (inside the append transaction). */
export async function projectCall(db: Db, e: StoredEvent, data: Data): Promise<void> {
  const callId = e.subject!;
  const key = and(eq(calls.tenant, e.tenant), eq(calls.callId, callId));
  const [current] = await db.select({ status: calls.status }).from(calls).where(key).limit(1);
  switch (e.type) {
    case "call.started": {
      const d = data as z.output<typeof callStarted>;
      if (current) throw new AppendRejected(409, `call ${callId} has already ${current.status === "ended" ? "ended" : "started"}`);
      await db.insert(calls).values({ tenant: e.tenant, callId, ...d, status: "active", startedAt: e.ts, eventId: e.id });
      return;
    }
    case "call.ended": {
      const d = data as z.output<typeof callEnded>;
      if (current?.status === "ended") throw new AppendRejected(409, `call ${callId} has already ended`);
      const ended = { status: "ended" as const, endedAt: e.ts, durationMs: d.duration_ms, endStatus: d.status ?? "completed", eventId: e.id };
      if (current) {
        await db.update(calls).set(ended).where(key);
      } else {
        // The start was never reported (a lost webhook): keep the call, with what the end says.
        const startedAt = e.ts - (d.duration_ms ?? 0);
        await db
          .insert(calls)
          .values({ tenant: e.tenant, callId, direction: d.direction ?? "inbound", number: d.number ?? "unknown", agent: d.agent, client: d.client, startedAt, ...ended });
      }
      return;
    }
    case "call.analyzed": {
      const d = data as z.output<typeof callAnalyzed>;
      if (!current) throw new AppendRejected(409, `no call ${callId} to attach an analysis to`);
      await db.update(calls).set({ summary: d.summary, sentiment: d.sentiment, eventId: e.id }).where(key);
      return;
    }
  }
}

/** The calls domain's projection, run by the log's writer. */
export const callsProjection: Projection = { topics: ["call"], project: projectCall };
