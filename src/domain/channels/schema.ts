import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const CHANNEL_STATES = ["connecting", "connected", "failed", "disconnected"] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

/** Current state of every channel (WhatsApp, Telegram, Slack…); kept regardless of event retention. */
export const channels = sqliteTable(
  "channels",
  {
    tenant: text("tenant").notNull(),
    channelId: text("channel_id").notNull(),
    /** whatsapp, telegram, slack, sms, email, webchat, or another name. */
    platform: text("platform").notNull(),
    name: text("name").notNull(),
    /** JSON object of the connect form's settings (not secrets: they are in the log). */
    settings: text("settings").notNull().default("{}"),
    state: text("state", { enum: CHANNEL_STATES }).notNull(),
    /** Connection progress: step `step` of `total`, called `stepLabel`. */
    step: integer("step"),
    total: integer("total"),
    stepLabel: text("step_label"),
    /** Why it failed (or disconnected). */
    reason: text("reason"),
    /** The worker handling it, once one has reported. */
    worker: text("worker"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    eventId: integer("event_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.channelId] }),
    // The console's list: every channel, and one state's, newest first by keyset (src/domain/channels/list.ts).
    index("channels_tenant_created_idx").on(t.tenant, t.createdAt, t.channelId),
    index("channels_tenant_state_created_idx").on(t.tenant, t.state, t.createdAt, t.channelId),
  ],
);
