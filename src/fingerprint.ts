import { createHash } from "node:crypto";

/**
 * What an idempotency key remembers of the event it was first used for, so
 * that reusing the key for another event is refused rather than silently
 * answered with the first one: a SHA-256 of the event's type, subject and
 * data. The data is taken as it will be stored (after a domain has masked
 * numbers or cut previews: a hash of the unmasked value would keep what
 * masking drops) and compared as a JSON value, so the order of an object's
 * fields and the spacing of the body do not matter; any other difference
 * (a field added, a number changed, a different subject) makes it another
 * event.
 */
export function eventFingerprint(type: string, subject: string | null, data: Record<string, unknown> | undefined): string {
  return createHash("sha256")
    .update(JSON.stringify([type, subject, data ?? {}], sortedFields))
    .digest("base64url");
}

/** A JSON.stringify replacer that writes every object's fields in one order, whatever order they came in. */
function sortedFields(_field: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
