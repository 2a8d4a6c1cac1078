import { and, eq } from "drizzle-orm";
import type { z } from "zod";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { AppendRejected } from "../../store/event-log.js";
import type { Data, Projection } from "../domain.js";
import type { callAnalyzed, callEnded, callStarted } from "./events.js";
import { calls } from "./schema.js";

/** Applies call events to the `calls` table (inside the append transaction). */
export function projectCall(db: Db, e: StoredEvent, data: Data): void {
  const callId = e.subject!;
  const key = and(eq(calls.tenant, e.tenant), eq(calls.callId, callId));
  const current = db.select({ status: calls.status }).from(calls).where(key).get();
  switch (e.type) {
    case "call.started": {
      const d = data as z.output<typeof callStarted>;
      if (current) throw new AppendRejected(409, `call ${callId} has already ${current.status === "ended" ? "ended" : "started"}`);
      db.insert(calls)
        .values({ tenant: e.tenant, callId, ...d, status: "active", startedAt: e.ts, eventId: e.id })
        .run();
      return;
    }
    case "call.ended": {
      const d = data as z.output<typeof callEnded>;
      if (current?.status === "ended") throw new AppendRejected(409, `call ${callId} has already ended`);
      const ended = { status: "ended" as const, endedAt: e.ts, durationMs: d.duration_ms, endStatus: d.status ?? "completed", eventId: e.id };
      if (current) {
        db.update(calls).set(ended).where(key).run();
      } else {
        // The start was never reported (a lost webhook): keep the call, with what the end says.
        const startedAt = e.ts - (d.duration_ms ?? 0);
        db.insert(calls)
          .values({ tenant: e.tenant, callId, direction: d.direction ?? "inbound", number: d.number ?? "unknown", agent: d.agent, client: d.client, startedAt, ...ended })
          .run();
      }
      return;
    }
    case "call.analyzed": {
      const d = data as z.output<typeof callAnalyzed>;
      if (!current) throw new AppendRejected(409, `no call ${callId} to attach an analysis to`);
      db.update(calls).set({ summary: d.summary, sentiment: d.sentiment, eventId: e.id }).where(key).run();
      return;
    }
  }
}

/** The calls domain's projection, run by the log's writer. */
export const callsProjection: Projection = { topics: ["call"], project: projectCall };
