import { CURSOR_PARAM, cursorParam, parseCursor } from "../../console/list-page.js";
import type { Cursor } from "../../store/keyset.js";
import { SESSION_STATUSES, type SessionStatus } from "./schema.js";

/**
 * The sessions list's filters, from its page URL: `status` (answering,
 * waiting, idle), `agent`, `unread=1` (sessions with messages their agent
 * has not answered: waiting, or never delivered), `q` (a piece of the
 * session's id or title) and the page's cursor (`before`). Values that are
 * not valid are left out, as if unset.
 */
export interface SessionFilter {
  status: SessionStatus | null;
  agent: string | null;
  unread: boolean;
  q: string | null;
  cursor: Cursor | null;
}

export function sessionFilter(query: Record<string, string | undefined>): SessionFilter {
  const agent = query.agent?.trim();
  const q = query.q?.trim();
  return {
    status: (SESSION_STATUSES as readonly string[]).includes(query.status ?? "") ? (query.status as SessionStatus) : null,
    agent: agent && agent.length <= 200 ? agent : null,
    unread: query.unread === "1",
    q: q ? q.slice(0, 100) : null,
    cursor: parseCursor(query[CURSOR_PARAM]),
  };
}

/** The filters as the page's validated parameters (for `Panel.params`), cursor included. */
export function sessionParams(query: Record<string, string | undefined>): Record<string, string> {
  const f = sessionFilter(query);
  return {
    ...(f.status && { status: f.status }),
    ...(f.agent && { agent: f.agent }),
    ...(f.unread && { unread: "1" }),
    ...(f.q && { q: f.q }),
    ...cursorParam(query),
  };
}
