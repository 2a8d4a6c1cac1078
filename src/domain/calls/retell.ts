import { createHmac, timingSafeEqual } from "node:crypto";
import { Hono, type Context } from "hono";
import { checkEvent, type NewEvent } from "../../event.js";
import { appendOrThrow } from "../../http/append.js";
import type { AppEnv } from "../../http/env.js";
import { ApiError } from "../../http/errors.js";
import { jsonDepth } from "../../http/json-depth.js";
import type { DomainDeps } from "../domain.js";
import { maskNumber } from "../mask.js";

/**
 * Retell's voice webhooks, in their own format, turned into call events.
 *
 * Retell signs each webhook with the account's API key (the one with the
 * webhook badge): `X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256 of the
 * raw body followed by that timestamp>`. The signature is this route's only
 * authentication, so it is checked against the exact bytes received (never
 * re-serialized JSON, which would differ in spacing and key order).
 *
 * Retell retries any non-2xx answer, so what can never succeed on a retry
 * (an event type we do not map, a call already past that step) is
 * acknowledged rather than refused.
 */

export const RETELL_SIGNATURE_HEADER = "X-Retell-Signature";
/** How far the signature's timestamp may be from the server's clock, either way (the SDK's default). */
export const RETELL_TOLERANCE_MS = 5 * 60_000;
/**
 * Bodies up to this size are read. Larger than a usual event body: call_ended
 * and call_analyzed carry the whole transcript with word timings, which for
 * an hour-long call approaches a megabyte; we keep only a few fields of it.
 */
export const RETELL_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Retell events and the call events they become; any other event (transcript_updated, transfer_*, chat_*…) is acknowledged and dropped. */
const MAPPED = { call_started: "call.started", call_ended: "call.ended", call_analyzed: "call.analyzed" } as const;
type RetellEvent = keyof typeof MAPPED;

/** The longest summary call.analyzed takes; a longer one is cut rather than refused. */
const SUMMARY_CHARS = 4000;
/** Leaves room in the 200-character idempotency key `retell:call_analyzed:<call_id>`. */
const MAX_CALL_ID = 170;
const CONTROL = /[\u0000-\u001f\u007f]/;
const SIGNATURE = /^v=(\d{1,16}),d=([^,]*)$/;
const DIGEST = /^[0-9a-fA-F]{64}$/;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };
type ParsedSignature = { ok: true; timestamp: string; digest: Buffer } | { ok: false; reason: string };

/**
 * Reads the signature header and checks its timestamp against `now`; what
 * can be refused before the body is read. Reasons never repeat the header.
 */
export function parseRetellSignature(header: string | undefined, now: number, toleranceMs = RETELL_TOLERANCE_MS): ParsedSignature {
  if (header === undefined || header.trim() === "") {
    return { ok: false, reason: `missing ${RETELL_SIGNATURE_HEADER} header: Retell signs every webhook it sends` };
  }
  const m = SIGNATURE.exec(header.trim());
  if (!m || !DIGEST.test(m[2])) {
    return { ok: false, reason: `${RETELL_SIGNATURE_HEADER} is malformed: expected "v=<unix ms timestamp>,d=<64 hex digits of HMAC-SHA256>"` };
  }
  const skewMs = Math.abs(now - Number(m[1]));
  if (skewMs > toleranceMs) {
    return {
      ok: false,
      reason: `${RETELL_SIGNATURE_HEADER} is stale: its timestamp is ${Math.round(skewMs / 1000)} s from the server's clock, more than the ${toleranceMs / 1000} s allowed (a replayed request, or a clock out of sync)`,
    };
  }
  return { ok: true, timestamp: m[1], digest: Buffer.from(m[2], "hex") };
}

/**
 * Verifies a Retell webhook exactly as Retell's SDK does: the header's
 * digest must equal HMAC-SHA256(secret, rawBody + timestamp), where the
 * timestamp is the header's `v=` digits, within `toleranceMs` of `now`.
 * Pure: the clock is an argument.
 */
export function verifyRetellSignature(
  rawBody: Uint8Array,
  header: string | undefined,
  secret: string,
  now: number,
  toleranceMs = RETELL_TOLERANCE_MS,
): SignatureCheck {
  const parsed = parseRetellSignature(header, now, toleranceMs);
  if (!parsed.ok) return parsed;
  const expected = createHmac("sha256", secret).update(rawBody).update(parsed.timestamp).digest();
  // Both are 32 bytes (the header's digest is exactly 64 hex digits), as timingSafeEqual requires.
  if (!timingSafeEqual(parsed.digest, expected)) {
    return {
      ok: false,
      reason: `${RETELL_SIGNATURE_HEADER} does not match the body: the tenant's Retell secret must be the Retell API key with the webhook badge, and the body must arrive unmodified`,
    };
  }
  return { ok: true };
}

/** A call event built from a webhook, before validation by the calls schema. */
interface CallEventInput {
  type: string;
  subject: string;
  data: Record<string, unknown>;
  key: string;
}

export interface MappedWebhook {
  /** Appended first, in the same batch, when the call may not have ended in the log yet (see call_analyzed). */
  ensureEnded?: CallEventInput;
  event: CallEventInput;
}

/**
 * Maps a parsed Retell payload to call events; null for an event type that
 * is acknowledged and dropped. Throws a 400 ApiError for a payload that is
 * not Retell's shape. Messages never quote payload values: they may hold
 * phone numbers.
 */
export function mapRetellWebhook(payload: unknown): MappedWebhook | null {
  if (!isObject(payload) || typeof payload.event !== "string") {
    throw invalidPayload('the body must be a JSON object with a string "event"');
  }
  if (!Object.hasOwn(MAPPED, payload.event)) return null;
  const retellEvent = payload.event as RetellEvent;
  const call = payload.call;
  if (!isObject(call)) throw invalidPayload(`a ${retellEvent} webhook needs a "call" object`);
  const callId = call.call_id;
  if (typeof callId !== "string" || callId === "" || callId.length > MAX_CALL_ID || CONTROL.test(callId)) {
    throw invalidPayload(`call.call_id must be a string of 1 to ${MAX_CALL_ID} characters without control characters`);
  }
  // The key names only Retell's event and call id, never a number: keys are stored in the log.
  const build = (e: RetellEvent, data: Record<string, unknown>): CallEventInput => ({ type: MAPPED[e], subject: callId, data, key: `retell:${e}:${callId}` });

  switch (retellEvent) {
    case "call_started":
      return { event: build("call_started", who(call)) };
    case "call_ended":
      return { event: build("call_ended", ending(call)) };
    case "call_analyzed": {
      // Carries the whole call: if call_ended was lost (or is still being retried), the end is
      // appended from here under call_ended's own key, so the late original appends nothing.
      const analysis = isObject(call.call_analysis) ? call.call_analysis : {};
      return {
        ensureEnded: build("call_ended", ending(call)),
        event: build("call_analyzed", {
          summary: cut(text(analysis.call_summary, Infinity), SUMMARY_CHARS),
          sentiment: text(analysis.user_sentiment, 40),
          successful: typeof analysis.call_successful === "boolean" ? analysis.call_successful : undefined,
        }),
      };
    }
  }
}

/** Direction, number, agent and client of a call, as call.started (and call.ended) carry them. */
function who(call: Record<string, unknown>): Record<string, unknown> {
  // Web calls have no direction; the user reaches the agent, as on an inbound call.
  const direction = call.direction === "outbound" ? "outbound" : "inbound";
  // The other party: the caller of an inbound call, the callee of an outbound one.
  const other = text(direction === "inbound" ? call.from_number : call.to_number, Infinity);
  const number = call.call_type === "web_call" ? "web" : other === undefined ? "unknown" : maskNumber(other);
  const metadata = isObject(call.metadata) ? call.metadata : {};
  return { direction, number, agent: text(call.agent_id, 200), client: text(metadata.client, 200) };
}

function ending(call: Record<string, unknown>): Record<string, unknown> {
  const { duration_ms: given, start_timestamp: start, end_timestamp: end } = call;
  const duration =
    typeof given === "number" && Number.isFinite(given) && given >= 0
      ? Math.round(given)
      : typeof start === "number" && typeof end === "number" && Number.isFinite(end - start) && end >= start
        ? Math.round(end - start)
        : undefined;
  return { duration_ms: duration, status: text(call.disconnection_reason, 100) ?? text(call.call_status, 100), ...who(call) };
}

/** At most `max` UTF-16 units (what the calls schema counts), never ending inside a surrogate pair. */
function cut(value: string | undefined, max: number): string | undefined {
  if (value === undefined || value.length <= max) return value;
  const head = value.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
}

/** A non-empty string of at most `max` characters, else undefined (dropped rather than refused: Retell would retry in vain). */
function text(value: unknown, max: number): string | undefined {
  return typeof value === "string" && value !== "" && value.length <= max ? value : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const invalidPayload = (message: string) => new ApiError(400, "invalid_payload", `not a Retell webhook: ${message}`);
const invalidSignature = (reason: string) => new ApiError(401, "invalid_signature", reason);

/** `POST /api/v1/tenants/:tenant/webhooks/retell`: no API key, the signature is the authentication. */
export function retellRoutes(deps: DomainDeps) {
  const app = new Hono<AppEnv>();

  app.post("/api/v1/tenants/:tenant/webhooks/retell", async function retellWebhook(c) {
    const tenant = c.req.param("tenant");
    if (!deps.tenants.exists(tenant)) throw new ApiError(404, "tenant_not_found", `no tenant "${tenant}"`);
    if (deps.tenants.isDisabled(tenant)) throw new ApiError(403, "tenant_disabled", `tenant "${tenant}" is disabled`);
    const secret = deps.tenants.retellSecret(tenant);
    if (secret === null) {
      throw new ApiError(
        403,
        "retell_not_configured",
        `tenant "${tenant}" has no Retell secret, so its Retell webhooks are refused; set one with: npm run switchboard -- tenants set-retell-secret ${tenant} <the Retell API key with the webhook badge>`,
      );
    }
    if (deps.tenants.sharesRetellSecret(tenant)) {
      // Never names the other tenant: this route is open to anyone.
      throw new ApiError(
        403,
        "retell_not_configured",
        `tenant "${tenant}" shares its Retell secret with another tenant, so its Retell webhooks are refused (either could have signed them); set a secret of its own with: npm run switchboard -- tenants set-retell-secret ${tenant} <its own Retell API key>`,
      );
    }
    // One clock reading for both checks; the header alone can be refused before the body is read.
    const now = Date.now();
    const header = c.req.header(RETELL_SIGNATURE_HEADER);
    const early = parseRetellSignature(header, now);
    if (!early.ok) throw invalidSignature(early.reason);
    const raw = await readRawBody(c, RETELL_MAX_BODY_BYTES);
    const signature = verifyRetellSignature(raw, header, secret, now);
    if (!signature.ok) throw invalidSignature(signature.reason);

    let payload: unknown;
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
      // Signed, so from Retell; still, nothing this deep is a webhook, and parsing it would hold the event loop.
      if (jsonDepth(text, deps.maxJsonDepth) > deps.maxJsonDepth) throw invalidPayload(`it nests deeper than ${deps.maxJsonDepth} levels, the limit (MAX_JSON_DEPTH)`);
      payload = JSON.parse(text);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      // Not the parser's message: it quotes the body, which may hold a phone number.
      throw new ApiError(400, "invalid_json", "the body is not valid UTF-8 JSON");
    }
    const mapped = mapRetellWebhook(payload);
    if (mapped === null) return c.body(null, 204);

    const check = (input: CallEventInput): NewEvent => {
      const checked = checkEvent(input, deps.maxEventBytes, deps.domains.normalize);
      if (!checked.ok) throw new ApiError(400, "invalid_event", `the webhook maps to an invalid ${input.type}: ${checked.reason}`);
      return checked.event;
    };
    const event = check(mapped.event);
    // The end rebuilt from an analysis is appended only if the call has none yet: it may differ from the call_ended
    // Retell sent (or will send), so it takes the key without a fingerprint and never counts as the key's reuse.
    const ensureEnded = mapped.ensureEnded && { ...check(mapped.ensureEnded), fingerprint: null };
    const batches = ensureEnded ? [[ensureEnded, event], [event]] : [[event]];
    for (const batch of batches) {
      try {
        const { ids, appended } = await appendOrThrow(deps.log, tenant, batch);
        if (appended.length === 0) c.header("Idempotent-Replayed", "true");
        return c.json({ ids }, 200);
      } catch (err) {
        if (!(err instanceof ApiError) || (err.status !== 409 && err.status !== 422)) throw err;
        // The call is already past this step (ended by another producer, or a start delivered after the
        // end), or Retell sent this event before with other content: a retry could never succeed, so it is
        // acknowledged. With ensureEnded, the call was ended without Retell's key; the analysis alone is tried next.
        deps.logger.info("retell webhook not applied", { tenant, event: mapped.event.type, call: mapped.event.subject, reason: err.message });
      }
    }
    return c.body(null, 204);
  });

  return app;
}

/** The request body as bytes, failing with 413 past `max`. */
async function readRawBody(c: Context, max: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError(413, "body_too_large", `the body is larger than the limit of ${max} bytes`);
  if (Number(c.req.header("content-length") ?? 0) > max) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) throw tooLarge();
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks);
}
