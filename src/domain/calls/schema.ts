import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Current state of every call; kept regardless of event retention. */
export const calls = sqliteTable(
  "calls",
  {
    tenant: text("tenant").notNull(),
    callId: text("call_id").notNull(),
    direction: text("direction", { enum: ["inbound", "outbound"] }).notNull(),
    /** Masked to the last 4 digits at ingestion; the full number is never stored. */
    number: text("number").notNull(),
    agent: text("agent"),
    client: text("client"),
    status: text("status", { enum: ["active", "ended"] }).notNull(),
    startedAt: integer("started_at").notNull(),
    endedAt: integer("ended_at"),
    durationMs: integer("duration_ms"),
    endStatus: text("end_status"),
    summary: text("summary"),
    sentiment: text("sentiment"),
    /** Id of the last event applied to this row. */
    eventId: integer("event_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.callId] }),
    index("calls_tenant_status_ended_idx").on(t.tenant, t.status, t.endedAt),
    // The calls list, newest first by start, with and without each filter: one seek on each, however deep
    // the page (the rowid every index ends with breaks ties of the start time).
    index("calls_tenant_started_idx").on(t.tenant, t.startedAt),
    index("calls_tenant_status_started_idx").on(t.tenant, t.status, t.startedAt),
    index("calls_tenant_direction_started_idx").on(t.tenant, t.direction, t.startedAt),
    index("calls_tenant_agent_started_idx").on(t.tenant, t.agent, t.startedAt),
    // Numbers are stored masked to their last 4 digits: "the number ending 0142" is one stored value.
    index("calls_tenant_number_started_idx").on(t.tenant, t.number, t.startedAt),
  ],
);
