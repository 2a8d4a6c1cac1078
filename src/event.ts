import { z } from "zod";
import { eventFingerprint } from "./fingerprint.js";

/** An event as a producer sends it, validated; `data` already compact JSON text. */
export interface NewEvent {
  type: string;
  subject: string | null;
  data: string;
  key: string | null;
  /**
   * With a key: what the key stands for (see eventFingerprint), so a reuse
   * for another event is refused. Absent or null, the key's earlier event
   * counts as this one whatever it holds: the call end a Retell analysis
   * appends only if the call has none yet. (Stored events from before
   * fingerprints have none either, and count as any later use of their key.)
   */
  fingerprint?: string | null;
}

/** One row of the log. `id` is its SSE `id:` and its position for resuming. */
export interface StoredEvent extends NewEvent {
  id: number;
  tenant: string;
  /** Server time of append, ms since the epoch. */
  ts: number;
}

export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** Dotted lower-case names, at least one dot; the part before the first dot is the topic. */
export const TYPE_PATTERN = /^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+$/;
/** Control characters (CR and LF among them) would break SSE framing and logs. */
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A UTF-16 surrogate without its other half: JSON can carry one ("\ud800"), UTF-8 cannot. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const text = (what: string, max: number) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(max, `${what} is longer than ${max} characters`)
    .refine((v) => !CONTROL.test(v), `${what} must not contain control characters (CR, LF, tab…)`)
    // SQLite stores text as UTF-8, where a lone surrogate becomes U+FFFD: the stored value would differ from the one sent.
    .refine((v) => !LONE_SURROGATE.test(v), `${what} must be well-formed Unicode: it holds a lone surrogate (an unpaired \\ud800–\\udfff escape)`);

const inputSchema = z.strictObject({
  type: z
    .string({ error: "type is required and must be a string" })
    .max(100, "type is longer than 100 characters")
    .refine((v) => !CONTROL.test(v), "type must not contain control characters (CR, LF, tab…)")
    .refine((v) => TYPE_PATTERN.test(v), "type must be dotted lower-case, <topic>.<name> with at least one dot, like call.started"),
  subject: text("subject", 200).nullish(),
  data: z.record(z.string(), z.unknown(), { error: "data must be a JSON object" }).optional(),
  key: text("key", 200).nullish(),
});

export type EventCheck = { ok: true; event: NewEvent } | { ok: false; reason: string };

/**
 * Checks (and may transform) an event's data by its type, e.g. against a
 * domain's schema; returns the data to store or the reason it is invalid.
 */
export type DataCheck = (
  type: string,
  subject: string | null,
  data: Record<string, unknown>,
) => { ok: true; data: Record<string, unknown> } | { ok: false; reason: string };

/**
 * Validates one event as received (already JSON-parsed). `maxBytes` bounds
 * the serialized data object. `key` is the idempotency key, which may also
 * come from the `Idempotency-Key` header for a single event.
 */
export function checkEvent(input: unknown, maxBytes: number, checkData?: DataCheck): EventCheck {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const reason = issue.code === "unrecognized_keys" ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}` : issue.message;
    return { ok: false, reason: input === null || typeof input !== "object" || Array.isArray(input) ? "an event must be a JSON object" : reason };
  }
  const { type, subject, key } = parsed.data;
  let data = parsed.data.data;
  if (checkData) {
    const checked = checkData(type, subject ?? null, data ?? {});
    if (!checked.ok) return checked;
    data = checked.data;
  }
  const json = data === undefined ? "{}" : JSON.stringify(data);
  // Length in UTF-16 units is a lower bound of the byte length; only measure bytes near the limit.
  if (json.length > maxBytes / 3 && Buffer.byteLength(json) > maxBytes) {
    return { ok: false, reason: `data is ${Buffer.byteLength(json)} bytes, more than the limit of ${maxBytes}` };
  }
  const fingerprint = key ? eventFingerprint(type, subject ?? null, data) : null;
  return { ok: true, event: { type, subject: subject ?? null, data: json, key: key ?? null, fingerprint } };
}
