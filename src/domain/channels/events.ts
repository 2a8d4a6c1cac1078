import { z } from "zod";
import { commandTarget, type TypeSpec } from "../domain.js";
import { maskSender } from "../mask.js";

/** whatsapp, telegram, slack, sms, email, webchat, or another lower-case name. */
export const platform = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,39}$/, "must be a lower-case name like whatsapp, telegram or sms (letters, digits, _ and -; at most 40)");
export const channelName = z.string().min(1).max(200);
/** The connect form's fields, kept as a JSON object (they are in the log: no secrets). */
export const settings = z.record(z.string().max(100), z.unknown());
const label = (max: number) => z.string().min(1).max(max);
/** The worker reporting, so the channel shows who holds its connection. */
const reporter = { worker: label(200).optional() };

/** How long a message preview may be, in characters; longer text is cut with an ellipsis. */
export const PREVIEW_CHARS = 280;

/** A one-line preview: whitespace runs collapsed, cut at PREVIEW_CHARS code points (never inside a surrogate pair). */
export function preview(text: string): string {
  const chars = Array.from(text.replace(/\s+/g, " ").trim());
  return chars.length <= PREVIEW_CHARS ? chars.join("") : chars.slice(0, PREVIEW_CHARS - 1).join("") + "…";
}

export const connectRequested = z.strictObject({
  platform,
  name: channelName,
  settings: settings.default({}),
  ...commandTarget,
});

export const disconnectRequested = z.strictObject({
  reason: label(1000).optional(),
  ...commandTarget,
});

export const channelProgress = z
  .strictObject({
    step: z.number().int().min(1),
    total: z.number().int().min(1).max(100),
    label: label(200),
    ...reporter,
  })
  .refine((d) => d.step <= d.total, { message: "must be between 1 and total", path: ["step"] });

export const channelConnected = z.strictObject({ ...reporter });

export const channelFailed = z.strictObject({
  reason: label(1000),
  /**
   * Set when the failure is a silence: the channel heard nothing for this
   * long. Switchboard's own connect timeout sets it; such a failure is
   * refused if the channel heard anything within that time, so a report
   * that lands just before the deadline is never overruled by it.
   */
  timeout_ms: z.number().int().min(1).optional(),
  ...reporter,
});

export const channelDisconnected = z.strictObject({
  reason: label(1000).optional(),
  ...reporter,
});

/** An operator takes a failed or disconnected channel off the hub; its history stays in the log. */
export const channelRemoved = z.strictObject({
  reason: label(1000).optional(),
});

export const activityMessage = z.strictObject({
  platform,
  direction: z.enum(["in", "out"]),
  /** Cut to a short preview on the way in: the full text is never stored. */
  preview: z.string().max(20_000).transform(preview),
  /** Masked on the way in to its last 4 digits, like a call's number. */
  sender: z.string().min(1).max(200).transform(maskSender).optional(),
  /** The channel it came through or went out on, when known. */
  channel: label(200).optional(),
  message_id: label(200).optional(),
});

export const channelTypes: Record<string, TypeSpec> = {
  // Commands: delivered to the worker that owns connectors (kind "channels" unless one is named).
  "channel.connect_requested": { schema: connectRequested, subject: "required", command: true },
  "channel.disconnect_requested": { schema: disconnectRequested, subject: "required", command: true },
  // The connector's answers. channel.failed is also appended by Switchboard when no connector answers.
  "channel.progress": { schema: channelProgress, subject: "required" },
  "channel.connected": { schema: channelConnected, subject: "required" },
  "channel.failed": { schema: channelFailed, subject: "required" },
  "channel.disconnected": { schema: channelDisconnected, subject: "required" },
  // An operator's action: no connector has anything to do for a channel that holds no connection.
  "channel.removed": { schema: channelRemoved, subject: "required", control: true },
  // The activity feed: the log itself, filtered by type; no table.
  "activity.message": { schema: activityMessage, subject: "optional" },
};
