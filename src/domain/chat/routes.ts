import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import { appendOne } from "../../http/append.js";
import { requireKey } from "../../http/auth.js";
import type { AppEnv } from "../../http/env.js";
import { ApiError } from "../../http/errors.js";
import type { DomainDeps } from "../domain.js";
import { rowJson } from "../json.js";
import { chatMessage, id, sessionStarted, toolCancelRequested } from "./events.js";
import { findSession, findToolRun, listSessions, sessionMessages, type Message } from "./queries.js";
import { commandBodyLimit, readBody } from "../../http/command-body.js";

const DEFAULT_SESSIONS = 100;
const MAX_SESSIONS = 1000;

const newSessionBody = sessionStarted.extend({ id: id.optional() });
const newMessageBody = chatMessage.pick({ text: true }).extend({ message_id: id.optional() });
const cancelBody = toolCancelRequested.omit({ worker: true });

/** Chat sessions and tool runs: their state, and the commands (a user's message, a tool cancel) that reach the agent. */
export function chatRoutes(deps: DomainDeps) {
  const app = new Hono<AppEnv>();
  const read = requireKey(deps, "read");
  const control = requireKey(deps, "control");
  const limit = commandBodyLimit(deps.maxEventBytes);
  const append = (tenant: string, type: string, subject: string, data: Record<string, unknown>) =>
    appendOne(deps.log, tenant, { type, subject, data }, { maxEventBytes: deps.maxEventBytes, checkData: deps.domains.normalize });

  /** Sessions, most recently active first (`?agent=` one agent's, `?limit=` how many). */
  app.get("/api/v1/tenants/:tenant/sessions", read, (c) => {
    const agent = c.req.query("agent");
    if (agent !== undefined && !id.safeParse(agent).success) {
      throw new ApiError(400, "invalid_filter", "agent must be 1 to 200 characters without control characters");
    }
    const limitText = c.req.query("limit");
    const count = limitText === undefined ? DEFAULT_SESSIONS : Number(limitText);
    if (!Number.isInteger(count) || count < 1 || count > MAX_SESSIONS) {
      throw new ApiError(400, "invalid_limit", `limit must be an integer from 1 to ${MAX_SESSIONS}`);
    }
    // Head and rows in one synchronous step: the state is exactly the log through `head`.
    const head = deps.log.head();
    const sessions = listSessions(deps.db, c.req.param("tenant"), { agent, limit: count });
    return c.json({ head, sessions: sessions.map(rowJson) });
  });

  /** One session with its messages (texts assembled) and each message's tool runs. */
  app.get("/api/v1/tenants/:tenant/sessions/:session", read, (c) => {
    const tenant = c.req.param("tenant");
    const sessionId = c.req.param("session");
    const head = deps.log.head();
    const session = findSession(deps.db, tenant, sessionId);
    if (!session) throw new ApiError(404, "not_found", `no session "${sessionId}"`);
    const messages = sessionMessages(deps.db, tenant, sessionId);
    return c.json({ head, session: rowJson(session), messages: messages.map(messageJson) });
  });

  /** Opens a session with an agent (chat.session_started); its messages follow. */
  app.post("/api/v1/tenants/:tenant/sessions", control, limit, async (c) => {
    const tenant = c.req.param("tenant");
    const { id: given, ...data } = await readBody(c, newSessionBody);
    const sessionId = given ?? randomUUID();
    const eventId = await append(tenant, "chat.session_started", sessionId, data);
    return c.json({ id: eventId, session: rowJson(findSession(deps.db, tenant, sessionId)!) }, 201);
  });

  /** A user's message: a command to the session's agent, which answers with deltas. */
  app.post("/api/v1/tenants/:tenant/sessions/:session/messages", control, limit, async (c) => {
    const tenant = c.req.param("tenant");
    const sessionId = c.req.param("session");
    const body = await readBody(c, newMessageBody);
    const session = findSession(deps.db, tenant, sessionId);
    if (!session) throw new ApiError(404, "not_found", `no session "${sessionId}"; open one with POST /api/v1/tenants/${tenant}/sessions`);
    const messageId = body.message_id ?? randomUUID();
    const eventId = await append(tenant, "chat.message", sessionId, { message_id: messageId, text: body.text, worker: session.agent });
    return c.json({ id: eventId, message_id: messageId }, 201);
  });

  app.get("/api/v1/tenants/:tenant/tools/:tool", read, (c) => {
    const head = deps.log.head();
    const run = findToolRun(deps.db, c.req.param("tenant"), c.req.param("tool"));
    if (!run) throw new ApiError(404, "not_found", `no tool run "${c.req.param("tool")}"`);
    return c.json({ head, tool: rowJson(run) });
  });

  /** Asks the session's agent to stop a tool run; it answers with tool.cancelled. 409 once the run has ended. */
  app.post("/api/v1/tenants/:tenant/tools/:tool/cancel", control, limit, async (c) => {
    const tenant = c.req.param("tenant");
    const toolId = c.req.param("tool");
    const body = await readBody(c, cancelBody);
    const run = findToolRun(deps.db, tenant, toolId);
    if (!run) throw new ApiError(404, "not_found", `no tool run "${toolId}"`);
    // A run's session always exists: tool.started is refused without it, and sessions are never deleted.
    const { agent } = findSession(deps.db, tenant, run.sessionId)!;
    const eventId = await append(tenant, "tool.cancel_requested", toolId, { ...body, worker: agent });
    return c.json({ id: eventId }, 201);
  });

  return app;
}

const messageJson = ({ tools, ...message }: Message) => ({ ...rowJson(message), tools: tools.map(rowJson) });
