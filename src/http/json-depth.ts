/**
 * How deep JSON text nests, measured on the text itself before JSON.parse:
 * for bodies that are read whole (command bodies, the console's settings,
 * webhooks) and for NDJSON lines. See json-scan.ts for why depth matters.
 */

/** Character codes the JSON scanners look for (here and in json-scan.ts). */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_SQUARE = 0x5b;
export const CLOSE_SQUARE = 0x5d;
export const OPEN_CURLY = 0x7b;
export const CLOSE_CURLY = 0x7d;

/**
 * How deep a JSON text nests, counting `[` and `{` outside strings, or
 * Infinity as soon as it passes `max` (the rest is not read). Linear,
 * without recursion, so any text can be measured safely before JSON.parse.
 */
export function jsonDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) inString = true;
    else if (code === OPEN_SQUARE || code === OPEN_CURLY) {
      if (++depth > deepest && (deepest = depth) > max) return Infinity;
    } else if ((code === CLOSE_SQUARE || code === CLOSE_CURLY) && depth > 0) depth--;
  }
  return deepest;
}

/** Whether `text` holds at most `max` opening brackets (in strings or not): then it cannot nest deeper than `max`. */
export function bracketsAtMost(text: string, max: number): boolean {
  let count = 0;
  for (const open of ["{", "["]) {
    for (let at = text.indexOf(open); at >= 0; at = text.indexOf(open, at + 1)) if (++count > max) return false;
  }
  return true;
}

