import type { StoredEvent } from "./event.js";

// Apart from event.ts (which loads zod to validate events): the log's reader threads encode pages with
// this, and every module a thread loads costs memory.

/** The JSON text of an event, the same in history pages and every stream. */
export function eventJson(e: StoredEvent): string {
  return `{"id":${e.id},"tenant":"${e.tenant}","type":"${e.type}","subject":${e.subject === null ? "null" : JSON.stringify(e.subject)},"data":${e.data},"ts":"${isoTime(e.ts)}"}`;
}

/**
 * An event's ts as JSON shows it. Events committed together share their ts,
 * and replay reads them in order: remembering the last conversion saves most
 * of the Date work on that path.
 */
let lastTs = Number.NaN;
let lastIso = "";
export function isoTime(ts: number): string {
  if (ts !== lastTs) {
    lastTs = ts;
    lastIso = new Date(ts).toISOString();
  }
  return lastIso;
}
