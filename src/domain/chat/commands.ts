import { randomUUID } from "node:crypto";
import { appendDomainEvent } from "../append-event.js";
import { ApiError } from "../../http/errors.js";
import type { DomainDeps } from "../domain.js";
import { chatMessage, id, sessionStarted, toolCancelRequested } from "./events.js";
import { findSession, findToolRun, type Session } from "./queries.js";

/**
 * The chat commands, shared by the API routes and the console's forms: one
 * code path from a request to the event the agent receives.
 */
export type CommandDeps = Pick<DomainDeps, "db" | "log" | "domains" | "maxEventBytes">;

/** Opening a session: its agent, an optional title, and an optional id (else a new UUID). */
export const newSessionBody = sessionStarted.extend({ id: id.optional() });
/** A user's message: its text, and an optional id (else a new UUID). */
export const newMessageBody = chatMessage.pick({ text: true }).extend({ message_id: id.optional() });
/** A tool cancel: an optional reason; the target is always the session's agent. */
export const cancelBody = toolCancelRequested.omit({ worker: true });

type NewSession = ReturnType<typeof newSessionBody.parse>;
type NewMessage = ReturnType<typeof newMessageBody.parse>;
type Cancel = ReturnType<typeof cancelBody.parse>;

const append = (deps: CommandDeps, tenant: string, type: string, subject: string, data: Record<string, unknown>) =>
  appendDomainEvent(deps, tenant, { type, subject, data });

/** Opens a session with an agent (chat.session_started); 409 when the id is taken. */
export async function startSession(deps: CommandDeps, tenant: string, body: NewSession): Promise<{ id: number; session: Session }> {
  const { id: given, ...data } = body;
  const sessionId = given ?? randomUUID();
  const eventId = await append(deps, tenant, "chat.session_started", sessionId, data);
  return { id: eventId, session: findSession(deps.db, tenant, sessionId)! };
}

/** A user's message: a command (chat.message) to the session's agent, which answers with deltas. 404 without the session. */
export async function sendMessage(deps: CommandDeps, tenant: string, sessionId: string, body: NewMessage): Promise<{ id: number; message_id: string }> {
  const session = findSession(deps.db, tenant, sessionId);
  if (!session) throw new ApiError(404, "not_found", `no session "${sessionId}"; open one with POST /api/v1/tenants/${tenant}/sessions`);
  const messageId = body.message_id ?? randomUUID();
  const eventId = await append(deps, tenant, "chat.message", sessionId, { message_id: messageId, text: body.text, worker: session.agent });
  return { id: eventId, message_id: messageId };
}

/** Asks the session's agent to stop a tool run (tool.cancel_requested); 404 without the run, 409 once it has ended. */
export async function cancelToolRun(deps: CommandDeps, tenant: string, toolId: string, body: Cancel): Promise<{ id: number }> {
  const run = findToolRun(deps.db, tenant, toolId);
  if (!run) throw new ApiError(404, "not_found", `no tool run "${toolId}"`);
  // A run's session always exists: tool.started is refused without it, and sessions are never deleted.
  const { agent } = findSession(deps.db, tenant, run.sessionId)!;
  const eventId = await append(deps, tenant, "tool.cancel_requested", toolId, { ...body, worker: agent });
  return { id: eventId };
}
