/**
 * A projection row as API JSON: snake_case keys, like event data
 * (`duration_ms`, `execution_id`), and `…At` times as ISO 8601 strings,
 * like an event's `ts`.
 */
export function rowJson(row: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const key = k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
    out[key] = k.endsWith("At") && typeof v === "number" ? new Date(v).toISOString() : v;
  }
  return out;
}
