import type { StoredEvent } from "../event.js";
import { eventJson } from "../event-json.js";

/**
 * The SSE frame of an event on JSON streams. Built directly rather than
 * through encodeFrame: the type is validated against TYPE_PATTERN and the
 * JSON text never holds a raw line break, so no splitting is needed, and
 * this runs once per event on every stream and every replayed page.
 */
export function jsonFrame(e: StoredEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${eventJson(e)}\n\n`;
}
