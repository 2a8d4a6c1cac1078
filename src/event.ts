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

/** An event as a producer sends it: what every event must be, and the reasons it is refused. */
export const inputSchema = z.strictObject({
  type: z
    .string({ error: "type is required and must be a string" })
    .max(100, "type is longer than 100 characters")
    .refine((v) => !CONTROL.test(v), "type must not contain control characters (CR, LF, tab…)")
    .refine((v) => TYPE_PATTERN.test(v), "type must be dotted lower-case, <topic>.<name> with at least one dot, like call.started"),
  subject: text("subject", 200).nullish(),
  data: z.record(z.string(), z.unknown(), { error: "data must be a JSON object" }).optional(),
  key: text("key", 200).nullish(),
});

type Envelope = z.infer<typeof inputSchema>;
const FIELDS: ReadonlySet<string> = new Set(["type", "subject", "data", "key"]);

const validText = (v: unknown, max: number) => v == null || (typeof v === "string" && v.length >= 1 && v.length <= max && !CONTROL.test(v) && !LONE_SURROGATE.test(v));

/**
 * The event as it is, when inputSchema would accept it unchanged; null
 * otherwise (then inputSchema says why, or returns what it made of it).
 * Nearly every event of a large batch is valid: this takes the few checks
 * inputSchema makes without its per-event cost (about a sixth of the main
 * thread's time in a batch ingest), the chief of which is copying data.
 * It must accept nothing inputSchema refuses: the tests compare the two.
 */
export function validEnvelope(input: unknown): Envelope | null {
  if (input === null || typeof input !== "object" || Object.getPrototypeOf(input) !== Object.prototype) return null;
  for (const field in input) if (!FIELDS.has(field)) return null;
  const { type, subject, data, key } = input as Record<string, unknown>;
  if (typeof type !== "string" || type.length > 100 || !TYPE_PATTERN.test(type)) return null;
  if (!validText(subject, 200) || !validText(key, 200)) return null;
  // inputSchema copies data, and leaves out an own "__proto__" when it does.
  if (data !== undefined && (data === null || typeof data !== "object" || Object.getPrototypeOf(data) !== Object.prototype || Object.hasOwn(data, "__proto__"))) return null;
  return input as Envelope;
}

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
  let envelope = validEnvelope(input);
  if (envelope === null) {
    const parsed = inputSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const reason = issue.code === "unrecognized_keys" ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}` : issue.message;
      return { ok: false, reason: input === null || typeof input !== "object" || Array.isArray(input) ? "an event must be a JSON object" : reason };
    }
    envelope = parsed.data;
  }
  const { type, subject, key } = envelope;
  let data = envelope.data;
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
