import { CURSOR_PARAM, cursorParam, parseCursor } from "../../console/list-page.js";
import type { Cursor } from "../../store/keyset.js";

export const CALL_STATUSES = ["active", "ended"] as const;
export const CALL_DIRECTIONS = ["inbound", "outbound"] as const;

/**
 * The calls list's filters, from its page URL: `status`, `direction`,
 * `agent`, `last4` (the number's last 4 digits), `from`/`to` (a date or a
 * date and minute, UTC; both ends included) and the page's cursor
 * (`before`). Values that are not valid are left out, as if unset.
 */
export interface CallFilter {
  status: (typeof CALL_STATUSES)[number] | null;
  direction: (typeof CALL_DIRECTIONS)[number] | null;
  agent: string | null;
  last4: string | null;
  /** The first millisecond shown (from `from`), or null. */
  from: number | null;
  /** The first millisecond no longer shown (the end of `to`'s day or minute), or null. */
  until: number | null;
  cursor: Cursor | null;
}

/** `2026-11-29` or `2026-11-29T14:05` (what date and datetime-local inputs send), seconds allowed. */
const TIME = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(?::\d{2})?)?$/;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** A `from`/`to` value as [its first millisecond, the first one after it], UTC; null when it is no such time. */
function timeSpan(text: string | undefined): [number, number] | null {
  const m = text === undefined ? null : TIME.exec(text);
  if (!m) return null;
  const start = Date.parse(`${m[1]}T${m[2] ?? "00:00"}:00Z`);
  if (Number.isNaN(start)) return null;
  return [start, start + (m[2] ? MINUTE_MS : DAY_MS)];
}

const pick = <T extends string>(allowed: readonly T[], value: string | undefined): T | null =>
  (allowed as readonly string[]).includes(value ?? "") ? (value as T) : null;

export function callFilter(query: Record<string, string | undefined>): CallFilter {
  const agent = query.agent?.trim();
  const last4 = query.last4?.trim();
  return {
    status: pick(CALL_STATUSES, query.status),
    direction: pick(CALL_DIRECTIONS, query.direction),
    agent: agent && agent.length <= 200 ? agent : null,
    last4: last4 && /^\d{4}$/.test(last4) ? last4 : null,
    from: timeSpan(query.from)?.[0] ?? null,
    until: timeSpan(query.to)?.[1] ?? null,
    cursor: parseCursor(query[CURSOR_PARAM]),
  };
}

/** The filters as the page's validated parameters (for `Panel.params`): what the URL keeps, cursor included. */
export function callParams(query: Record<string, string | undefined>): Record<string, string> {
  const f = callFilter(query);
  const text = (name: string) => query[name]!.trim();
  return {
    ...(f.status && { status: f.status }),
    ...(f.direction && { direction: f.direction }),
    ...(f.agent && { agent: f.agent }),
    ...(f.last4 && { last4: f.last4 }),
    ...(f.from !== null && { from: text("from") }),
    ...(f.until !== null && { to: text("to") }),
    ...cursorParam(query),
  };
}
