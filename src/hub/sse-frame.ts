/**
 * SSE wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * Pure functions: a frame is built once per event and written to every
 * matching subscriber.
 */

const LINE_BREAK = /\r\n|\r|\n/;

export interface Frame {
  id?: number | string;
  event?: string;
  /** Split on line breaks into several `data:` lines, so no field carries a raw CR or LF. */
  data: string;
}

/** `id: 7\nevent: call.started\ndata: {...}\n\n` */
export function encodeFrame(frame: Frame): string {
  let out = "";
  if (frame.id !== undefined) out += `id: ${singleLine(String(frame.id))}\n`;
  if (frame.event !== undefined) out += `event: ${singleLine(frame.event)}\n`;
  for (const line of frame.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out + "\n";
}

/** A comment line, which clients ignore: used as a heartbeat through proxies. */
export function encodeComment(text = ""): string {
  return `:${text ? " " + singleLine(text) : ""}\n\n`;
}

/** Tells the client how long to wait before reconnecting. */
export function encodeRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`;
}

/** Field values other than data must be a single line; line breaks become spaces. */
function singleLine(value: string): string {
  return value.replace(/[\r\n]+/g, " ");
}

/**
 * Wraps bytes as one HTTP/1.1 chunk. Streams write to the socket directly
 * (see http/sse-response.ts), so the chunk framing that `res.write` would
 * add is added here, once per frame rather than once per subscriber.
 */
export function httpChunk(body: Buffer): Buffer {
  const head = body.length.toString(16) + "\r\n";
  const out = Buffer.allocUnsafe(head.length + body.length + 2);
  out.write(head, 0, "latin1");
  body.copy(out, head.length);
  out.write("\r\n", head.length + body.length, "latin1");
  return out;
}

/** The size line that opens an HTTP/1.1 chunk of `length` bytes (the body and CRLF follow). */
export function chunkHead(length: number): Buffer {
  return Buffer.from(length.toString(16) + "\r\n", "latin1");
}

/** Ends an HTTP/1.1 chunk; shared, never written to. */
export const CRLF = Buffer.from("\r\n", "latin1");
