import { randomUUID } from "node:crypto";
import type { Context } from "hono";
import { checkEvent, type DataCheck } from "../event.js";
import { appendOrThrow } from "../http/append.js";
import { ApiError } from "../http/errors.js";
import { readChunks } from "../http/event-body.js";
import { rateLimited, type PublishLimiter } from "../http/rate-limit.js";
import type { EventLog } from "../store/event-log.js";
import { authError, type MercureClient } from "./client.js";
import { insufficientScope } from "./tokens.js";
import { inReservedNamespace, topicProblem } from "./selectors.js";
import { MAX_ID_LENGTH, MAX_TOPIC_LENGTH, MAX_TOPICS, MAX_TYPE_LENGTH, MERCURE_UPDATE, type MercureUpdate } from "./update.js";

export interface PublishDeps {
  log: EventLog;
  limiter: PublishLimiter;
  maxBodyBytes: number;
  maxEventBytes: number;
  checkData: DataCheck;
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;
const DIGITS = /^[0-9]+$/;

/**
 * A Mercure publish: a form-encoded update, checked field by field as the
 * protocol says (what it must refuse with 400, what is too large with 413),
 * authorized for every one of its topics, appended to the log, answered
 * with its id as plain text once it is committed.
 */
export async function publishUpdate(c: Context, deps: PublishDeps, tenant: string, client: MercureClient, hubUrl: URL): Promise<Response> {
  const contentType = c.req.header("content-type") ?? "";
  if (!FORM_TYPE.test(contentType)) {
    throw new ApiError(415, "unsupported_media_type", `a Mercure update is sent as application/x-www-form-urlencoded, not "${contentType || "(none)"}"`);
  }
  const declared = Number(c.req.header("content-length"));
  const bytes = Number.isSafeInteger(declared) ? declared : undefined;
  const allowed = await deps.limiter.check(client.rateKey, bytes);
  if (!allowed.ok) throw rateLimited(deps.limiter, allowed.retryAfterSec);
  let body = "";
  await readChunks(c, deps.maxBodyBytes, (chunk) => (body += chunk));
  const form = new URLSearchParams(body);
  const { id, update } = readUpdate(form, hubUrl);
  for (const topic of update.topics) {
    if (!client.canPublish(topic)) throw authError(insufficientScope(`this token may not publish to the topic "${topic}" (nothing was published)`));
  }
  const admission = await deps.limiter.take(client.rateKey, 1, bytes);
  if (!admission.ok) throw rateLimited(deps.limiter, admission.retryAfterSec);
  const checked = checkEvent({ type: MERCURE_UPDATE, subject: id, data: update }, deps.maxEventBytes, deps.checkData);
  if (!checked.ok) {
    const status = checked.reason.startsWith("data is ") ? 413 : 400;
    throw new ApiError(status, status === 413 ? "update_too_large" : "invalid_update", `the update cannot be stored: ${checked.reason}`);
  }
  await appendOrThrow(deps.log, tenant, [checked.event]);
  return c.body(id, 200, { "Content-Type": "text/plain; charset=utf-8" });
}

/** The update a form describes, or the first reason it is refused. Fields the protocol does not define are ignored. */
export function readUpdate(form: URLSearchParams, hubUrl: URL): { id: string; update: MercureUpdate } {
  const topics = form.getAll("topic");
  if (topics.length === 0) throw invalid("an update needs a topic field (the first is canonical, any more are alternates)");
  if (topics.length > MAX_TOPICS) throw tooLarge(`an update has at most ${MAX_TOPICS} topic fields, not ${topics.length}`);
  for (const topic of topics) {
    if (topic.length > MAX_TOPIC_LENGTH) throw tooLarge(`a topic is at most ${MAX_TOPIC_LENGTH} characters`);
    checkText("topic", topic);
    if (topic === "*") throw invalid('"*" is the wildcard matcher, not a topic one can publish to');
    if (inReservedNamespace(topic, hubUrl)) throw invalid(`the topic "${topic}" is in the hub's own namespace (${hubUrl.pathname}), reserved for what the hub publishes`);
  }
  const update: MercureUpdate = { topics };
  const data = form.get("data");
  if (data !== null) update.data = data;
  // The field's presence makes the update private, whatever its value.
  if (form.has("private")) update.private = true;
  const type = form.get("type");
  if (type !== null) {
    if (type.length > MAX_TYPE_LENGTH) throw tooLarge(`type is at most ${MAX_TYPE_LENGTH} characters`);
    checkText("type", type);
    if (type === "mercure") throw invalid('the type "mercure" is reserved for the events the hub itself sends');
    if (type !== "") update.type = type;
  }
  const retry = form.get("retry");
  if (retry !== null) {
    if (!DIGITS.test(retry) || Number(retry) > 2 ** 31 - 1) throw invalid(`retry must be a number of milliseconds in digits only, not "${retry.slice(0, 40)}"`);
    update.retry = Number(retry);
  }
  let id = form.get("id");
  if (id === null || id === "") id = `urn:uuid:${randomUUID()}`;
  else {
    if (id.length > MAX_ID_LENGTH) throw tooLarge(`an update id is at most ${MAX_ID_LENGTH} characters`);
    checkText("id", id);
    if (id.startsWith("#")) throw invalid("an update id must not start with #: the hub keeps those for ids of its own");
    if (id === "earliest") throw invalid('"earliest" is reserved: it asks for every update on reconnection');
  }
  return { id, update };
}

function checkText(field: string, value: string): void {
  const problem = topicProblem(value);
  if (problem !== null) throw invalid(`${field} "${value.slice(0, 80)}" is not allowed: ${problem}`);
}

const invalid = (message: string) => new ApiError(400, "invalid_update", message);
const tooLarge = (message: string) => new ApiError(413, "update_too_large", message);
