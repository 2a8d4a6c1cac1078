import { z } from "zod";
import type { TypeSpec } from "../domain.js";
import { maskNumber } from "../mask.js";

const label = (max: number) => z.string().min(1).max(max);
/** Masked on the way in: whatever a producer sends, only the last 4 digits are kept. */
const number = z.string().min(1).max(64).transform(maskNumber);

export const callStarted = z.strictObject({
  direction: z.enum(["inbound", "outbound"]),
  number,
  agent: label(200).optional(),
  client: label(200).optional(),
});

export const callEnded = z.strictObject({
  duration_ms: z.number().int().min(0).optional(),
  /** How the call ended: completed, failed, no_answer, busy, voicemail… */
  status: label(100).optional(),
  // Present when the start was never reported, so the ended call can still be shown.
  direction: z.enum(["inbound", "outbound"]).optional(),
  number: number.optional(),
  agent: label(200).optional(),
  client: label(200).optional(),
});

export const callAnalyzed = z.strictObject({
  summary: z.string().max(4000).optional(),
  sentiment: label(40).optional(),
  successful: z.boolean().optional(),
});

export const callTypes: Record<string, TypeSpec> = {
  "call.started": { schema: callStarted, subject: "required" },
  "call.ended": { schema: callEnded, subject: "required" },
  "call.analyzed": { schema: callAnalyzed, subject: "required" },
};
