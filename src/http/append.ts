import { checkEvent, type DataCheck, type NewEvent } from "../event.js";
import { AppendRejected, type AppendOptions, type AppendResult, type EventLog } from "../store/event-log.js";
import { ShuttingDown } from "../store/sqlite-event-log.js";
import { ApiError } from "./errors.js";

const REJECTED_CODES = { 400: "invalid_event", 403: "forbidden", 409: "conflict", 422: "unprocessable" } as const;

/**
 * Appends validated events and turns the log's refusals into API errors:
 * a domain rule broken (400 or 409 with its reason), or a server shutting
 * down (503).
 */
export async function appendOrThrow(log: EventLog, tenant: string, events: NewEvent[], options?: AppendOptions): Promise<AppendResult> {
  try {
    return await log.append(tenant, events, options);
  } catch (err) {
    if (err instanceof AppendRejected) throw new ApiError(err.status, err.code ?? REJECTED_CODES[err.status], err.message, err.details);
    if (err instanceof ShuttingDown) throw new ApiError(503, "unavailable", err.message, undefined, { "Retry-After": "5" });
    throw err;
  }
}

/**
 * Validates and appends one event built by the server itself (a command
 * from an API route, a mapped webhook), through the same checks as a
 * producer's; returns its id.
 */
export async function appendOne(
  log: EventLog,
  tenant: string,
  input: { type: string; subject?: string | null; data: Record<string, unknown>; key?: string | null },
  options: { maxEventBytes: number; checkData?: DataCheck },
): Promise<number> {
  const checked = checkEvent(input, options.maxEventBytes, options.checkData);
  if (!checked.ok) throw new ApiError(400, "invalid_event", checked.reason);
  const { ids } = await appendOrThrow(log, tenant, [checked.event]);
  return ids[0];
}
