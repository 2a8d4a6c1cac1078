import { isUtf8 } from "node:buffer";
import type { Context } from "hono";
import { checkEvent, type DataCheck, type NewEvent } from "../event.js";
import { nextTurn } from "../next-turn.js";
import type { TurnBudget } from "../turn-budget.js";
import type { NodeBindings } from "./env.js";
import { ApiError, type ErrorDetail } from "./errors.js";
import { BatchScanner, ScanError, type ScanLimits, type ValueScanner } from "./json-scan.js";
import { LineScanner } from "./ndjson-scan.js";

export interface BodyLimits {
  maxBodyBytes: number;
  maxEventBytes: number;
  maxBatchEvents: number;
  /** Most bytes of data (compact, as stored) the events of one request may hold together (MAX_BATCH_BYTES). */
  maxBatchBytes: number;
  /** How deep an event's data may nest (MAX_JSON_DEPTH). */
  maxJsonDepth: number;
  /** Domain validation of each event's data by type. */
  checkData?: DataCheck;
  /** The loop's time per turn, shared with fan-out, renders and replays: a batch is checked in slices of it. */
  turn: TurnBudget;
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const NDJSON_TYPE = /^application\/(x-ndjson|ndjson|jsonl|x-jsonlines)\s*(;|$)/i;
/** Enough to locate the problems without making the error itself huge. */
const MAX_DETAILS = 100;

/**
 * The longest JSON text one event may arrive as. Its data is at most
 * maxEventBytes once compact, but as sent it may be indented or escaped
 * (`\u00e9` is six characters for one), and type, subject and key add a
 * little; anything longer cannot be a valid event and is refused unparsed,
 * so no single JSON.parse holds the event loop for long.
 */
export const maxEventChars = (maxEventBytes: number) => 8 * maxEventBytes + 64 * 1024;

/**
 * Reads the events of a publish request: one JSON event, a JSON array, or
 * NDJSON (one event per line). The whole body is one batch: any bad event
 * rejects it, with every bad event's index and reason, and nothing is
 * appended.
 *
 * The body is scanned as it streams in (nesting depth, each event's extent,
 * the batch's size), then each event is parsed and checked on its own, in
 * slices that hand the event loop back every few milliseconds, so a large
 * or hostile batch never stalls other clients. `charge` learns the number
 * of events before any is parsed (the rate limit), and may throw.
 */
export async function readEvents(c: Context, limits: BodyLimits, charge?: (events: number) => void | Promise<void>): Promise<NewEvent[]> {
  const contentType = c.req.header("content-type") ?? "";
  const ndjson = NDJSON_TYPE.test(contentType);
  if (!ndjson && !JSON_TYPE.test(contentType)) {
    throw new ApiError(415, "unsupported_media_type", `Content-Type must be application/json or application/x-ndjson, not "${contentType || "(none)"}"`);
  }
  const idempotencyKey = c.req.header("idempotency-key");
  if (ndjson && idempotencyKey !== undefined) {
    // NDJSON is a batch: the header cannot say which event it keys, and ignoring it would make retries duplicate.
    throw new ApiError(400, "invalid_request", "Idempotency-Key applies to a single JSON event; give each NDJSON event its own \"key\"");
  }
  const declared = Number(c.req.header("content-length") ?? NaN);
  if (declared > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);

  const maxChars = maxEventChars(limits.maxEventBytes);
  const scanLimits: ScanLimits = {
    // The event object itself is one level; its data may nest maxJsonDepth more.
    maxDepth: limits.maxJsonDepth + 1,
    maxChars,
    onValue: (_value, index) => {
      if (index >= limits.maxBatchEvents) throw new ApiError(413, "batch_too_large", `a batch holds at most ${limits.maxBatchEvents} events (MAX_BATCH_EVENTS)`);
    },
  };
  const scanner: ValueScanner = ndjson ? new LineScanner(scanLimits) : new BatchScanner(scanLimits);
  try {
    await readChunks(c, limits.maxBodyBytes, (chunk) => scanner.feed(chunk), limits.turn);
    scanner.end();
  } catch (err) {
    if (err instanceof ScanError) throw invalidJson(err.message);
    throw err;
  }
  const values = scanner.values;
  // Lines of NDJSON that are not JSON count too: every event is counted once.
  if (values.length === 0) throw new ApiError(400, "no_events", "the body holds no events");
  if (scanner.array && idempotencyKey !== undefined) {
    throw new ApiError(400, "invalid_request", "Idempotency-Key applies to a single event; give each event of a batch its own \"key\"");
  }
  await charge?.(values.length);

  const events: NewEvent[] = [];
  const details: ErrorDetail[] = [];
  let oversized = 0;
  let batchBytes = 0;
  for (let index = 0; index < values.length; index++) {
    // At least one event per turn, so a batch always progresses however busy the turn is.
    if (index > 0 && !limits.turn.hasTime()) await nextTurn();
    const value = values[index];
    if ("tooDeep" in value) {
      details.push({ index, reason: `data nests deeper than ${limits.maxJsonDepth} levels, the limit (MAX_JSON_DEPTH)` });
      continue;
    }
    if ("tooLong" in value) {
      oversized++;
      details.push({ index, reason: `the event is ${value.tooLong} characters of JSON, more than the limit of ${maxChars} for data of at most ${limits.maxEventBytes} bytes` });
      continue;
    }
    let input: unknown;
    try {
      input = JSON.parse(value.text);
    } catch (err) {
      const message = (err as Error).message;
      // In a JSON body any syntax error makes the whole body unreadable; an NDJSON line is one bad event.
      if (!ndjson) throw invalidJson(scanner.array ? `event ${index}: ${message}` : message);
      details.push({ index, reason: `line is not valid JSON: ${message}` });
      continue;
    }
    // The header is the single event's key unless the event names its own.
    if (idempotencyKey !== undefined && input !== null && typeof input === "object" && !Array.isArray(input) && !("key" in input)) {
      input = { ...input, key: idempotencyKey };
    }
    const checked = checkEvent(input, limits.maxEventBytes, limits.checkData);
    if (checked.ok) {
      // One event is within MAX_EVENT_BYTES, which the configuration keeps within MAX_BATCH_BYTES.
      if (values.length > 1) {
        batchBytes += Buffer.byteLength(checked.event.data);
        if (batchBytes > limits.maxBatchBytes) {
          throw new ApiError(413, "batch_too_large", `a batch holds at most ${limits.maxBatchBytes} bytes of event data (MAX_BATCH_BYTES); events 0–${index} hold ${batchBytes}: send it as several requests`);
        }
      }
      events.push(checked.event);
    } else {
      if (checked.reason.startsWith("data is ")) oversized++;
      details.push({ index, reason: checked.reason });
    }
  }
  if (details.length > 0) {
    const tooBig = oversized === details.length;
    const message = `${details.length} of ${values.length} events ${details.length === 1 ? "is" : "are"} invalid; nothing was appended`;
    throw new ApiError(tooBig ? 413 : 400, tooBig ? "event_too_large" : "invalid_event", message, details.slice(0, MAX_DETAILS));
  }
  return events;
}

const invalidJson = (reason: string) => new ApiError(400, "invalid_json", `the body is not valid JSON: ${reason}`);

/**
 * Streams the body through `onChunk` as text, failing with 413 past `max`
 * bytes. On Node it reads the IncomingMessage directly: building the Web
 * `Request` body stream costs more than the rest of a small publish.
 *
 * With a `turn`, reading stops for the rest of a turn once its budget is
 * spent: a socket read can hand over up to 2 MB of body at once (libuv
 * reads on while the kernel has data), and scanning that in one go would
 * hold the loop for tens of milliseconds.
 */
export async function readChunks(c: Context, max: number, onChunk: (text: string) => void, turn?: TurnBudget): Promise<void> {
  // A chunk that is whole UTF-8 by itself (a small body always is) decodes without a TextDecoder, whose
  // native converter, made per request, was a tenth of reading a single event's body. The first chunk
  // that ends inside a character starts one, which carries the character's bytes to the next chunk.
  let decoder: TextDecoder | null = null;
  const decode = (value?: Uint8Array) => {
    if (decoder === null && value !== undefined && isUtf8(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
    if (decoder === null && value === undefined) return "";
    decoder ??= new TextDecoder("utf-8", { fatal: true });
    try {
      return decoder.decode(value, { stream: value !== undefined });
    } catch {
      throw new ApiError(400, "invalid_encoding", "the body is not valid UTF-8");
    }
  };
  const incoming = (c.env as Partial<NodeBindings> | undefined)?.incoming;
  if (incoming) return readIncoming(incoming, max, (chunk) => onChunk(decode(chunk)), () => onChunk(decode()), turn);
  const body = c.req.raw.body;
  if (!body) return;
  const reader = body.getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) throw tooLarge(max);
      turn?.hasTime();
      onChunk(decode(value));
      if (turn && !turn.hasTime()) await nextTurn();
    }
    onChunk(decode());
  } finally {
    reader.releaseLock();
  }
}

function readIncoming(incoming: NodeBindings["incoming"], max: number, onData: (chunk: Buffer) => void, onEnd: () => void, turn?: TurnBudget): Promise<void> {
  return new Promise((resolve, reject) => {
    let total = 0;
    const done = (err?: unknown) => {
      incoming.off("data", data).off("end", end).off("error", done).off("close", closed);
      if (err === undefined) resolve();
      else reject(err);
    };
    const data = (chunk: Buffer) => {
      total += chunk.length;
      try {
        if (total > max) throw tooLarge(max);
        turn?.hasTime(); // the first work of a turn starts its clock
        onData(chunk);
        if (turn && !turn.hasTime()) {
          // What the socket already read waits in the stream; it is read on from the next turn.
          incoming.pause();
          setImmediate(resume);
        }
      } catch (err) {
        done(err);
      }
    };
    const end = () => {
      try {
        onEnd();
        done();
      } catch (err) {
        done(err);
      }
    };
    const resume = () => incoming.resume();
    const closed = () => done(new Error("the client closed the connection before the body ended"));
    incoming.on("data", data).on("end", end).on("error", done).on("close", closed);
  });
}

const tooLarge = (max: number) => new ApiError(413, "body_too_large", `the body is larger than the limit of ${max} bytes`);
