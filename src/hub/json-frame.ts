import type { StoredEvent } from "../event.js";
import { eventJson, isoTime } from "../event-json.js";

/**
 * The SSE frame of an event on JSON streams. Built directly rather than
 * through encodeFrame: the type is validated against TYPE_PATTERN and the
 * JSON text never holds a raw line break, so no splitting is needed, and
 * this runs once per event on every stream and every replayed page.
 */
export function jsonFrame(e: StoredEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${eventJson(e)}\n\n`;
}

/**
 * jsonFrame, from the frame's start as SQLite builds it for a replay (every
 * byte up to the ts's ISO text; see FRAME_COLUMNS in store/event-reads.ts)
 * and the event's ts.
 */
export function finishJsonFrame(start: string, ts: number): string {
  return `${start}${isoTime(ts)}"}\n\n`;
}
