import type { IncomingMessage } from "node:http";
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import { checkEvent, type DataCheck, type NewEvent } from "../event.js";
import { ApiError, type ErrorDetail } from "./errors.js";

export interface BodyLimits {
  maxBodyBytes: number;
  maxEventBytes: number;
  maxBatchEvents: number;
  /** Domain validation of each event's data by type. */
  checkData?: DataCheck;
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const NDJSON_TYPE = /^application\/(x-ndjson|ndjson|jsonl|x-jsonlines)\s*(;|$)/i;
/** Enough to locate the problems without making the error itself huge. */
const MAX_DETAILS = 100;

/**
 * Reads the events of a publish request: one JSON event, a JSON array, or
 * NDJSON (one event per line, parsed as the body streams in). The whole
 * body is one batch: any bad event rejects it, with every bad event's index
 * and reason, and nothing is appended.
 */
export async function readEvents(c: Context, limits: BodyLimits): Promise<NewEvent[]> {
  const contentType = c.req.header("content-type") ?? "";
  const ndjson = NDJSON_TYPE.test(contentType);
  if (!ndjson && !JSON_TYPE.test(contentType)) {
    throw new ApiError(415, "unsupported_media_type", `Content-Type must be application/json or application/x-ndjson, not "${contentType || "(none)"}"`);
  }
  if (ndjson && c.req.header("idempotency-key") !== undefined) {
    // NDJSON is a batch: the header cannot say which event it keys, and ignoring it would make retries duplicate.
    throw new ApiError(400, "invalid_request", "Idempotency-Key applies to a single JSON event; give each NDJSON event its own \"key\"");
  }
  const declared = Number(c.req.header("content-length") ?? NaN);
  if (declared > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);

  const inputs: unknown[] = [];
  const details: ErrorDetail[] = [];
  if (ndjson) await readNdjson(c, limits, inputs, details);
  else inputs.push(...jsonEvents(await readText(c, limits.maxBodyBytes), c.req.header("idempotency-key")));

  // Lines of NDJSON that were not JSON are in `inputs` too (as BadLine), so it counts every event once.
  if (inputs.length === 0) throw new ApiError(400, "no_events", "the body holds no events");
  if (inputs.length > limits.maxBatchEvents) {
    throw new ApiError(413, "batch_too_large", `a batch holds at most ${limits.maxBatchEvents} events`);
  }
  const events: NewEvent[] = [];
  let oversized = 0;
  inputs.forEach((input, index) => {
    if (input instanceof BadLine) return;
    const checked = checkEvent(input, limits.maxEventBytes, limits.checkData);
    if (checked.ok) events.push(checked.event);
    else {
      if (checked.reason.startsWith("data is ")) oversized++;
      details.push({ index, reason: checked.reason });
    }
  });
  if (details.length > 0) {
    details.sort((a, b) => a.index - b.index);
    const tooBig = oversized === details.length;
    const message = `${details.length} of ${inputs.length} events ${details.length === 1 ? "is" : "are"} invalid; nothing was appended`;
    throw new ApiError(tooBig ? 413 : 400, tooBig ? "event_too_large" : "invalid_event", message, details.slice(0, MAX_DETAILS));
  }
  return events;
}

/** A line of NDJSON that was not JSON; its detail is already recorded. */
class BadLine {}

function jsonEvents(text: string, idempotencyKey: string | undefined): unknown[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, "invalid_json", `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(body)) {
    if (idempotencyKey !== undefined) {
      throw new ApiError(400, "invalid_request", "Idempotency-Key applies to a single event; give each event of a batch its own \"key\"");
    }
    return body;
  }
  // The header is the single event's key unless the event names its own.
  if (idempotencyKey !== undefined && body !== null && typeof body === "object" && !("key" in body)) {
    return [{ ...body, key: idempotencyKey }];
  }
  return [body];
}

async function readText(c: Context, max: number): Promise<string> {
  let text = "";
  await readChunks(c, max, (chunk) => (text += chunk));
  return text;
}

async function readNdjson(c: Context, limits: BodyLimits, inputs: unknown[], details: ErrorDetail[]): Promise<void> {
  let rest = "";
  const line = (text: string) => {
    const trimmed = text.trim();
    if (trimmed === "") return;
    if (inputs.length >= limits.maxBatchEvents) {
      throw new ApiError(413, "batch_too_large", `a batch holds at most ${limits.maxBatchEvents} events`);
    }
    try {
      inputs.push(JSON.parse(trimmed));
    } catch (err) {
      details.push({ index: inputs.length, reason: `line is not valid JSON: ${(err as Error).message}` });
      inputs.push(new BadLine());
    }
  };
  await readChunks(c, limits.maxBodyBytes, (chunk) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const l of lines) line(l);
  });
  line(rest);
}

/**
 * Streams the body through `onChunk` as text, failing with 413 past `max`
 * bytes. On Node it reads the IncomingMessage directly: building the Web
 * `Request` body stream costs more than the rest of a small publish.
 */
async function readChunks(c: Context, max: number, onChunk: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const decode = (value?: Uint8Array) => {
    try {
      return decoder.decode(value, { stream: value !== undefined });
    } catch {
      throw new ApiError(400, "invalid_encoding", "the body is not valid UTF-8");
    }
  };
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (incoming) return readIncoming(incoming, max, (chunk) => onChunk(decode(chunk)), () => onChunk(decode()));
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
      onChunk(decode(value));
    }
    onChunk(decode());
  } finally {
    reader.releaseLock();
  }
}

function readIncoming(incoming: IncomingMessage, max: number, onData: (chunk: Buffer) => void, onEnd: () => void): Promise<void> {
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
        onData(chunk);
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
    const closed = () => done(new Error("the client closed the connection before the body ended"));
    incoming.on("data", data).on("end", end).on("error", done).on("close", closed);
  });
}

const tooLarge = (max: number) => new ApiError(413, "body_too_large", `the body is larger than the limit of ${max} bytes`);
