import { Hono } from "hono";
import { requireKey } from "../../http/auth.js";
import { limitRate } from "../../http/rate-limit.js";
import type { AppEnv } from "../../http/env.js";
import { ApiError } from "../../http/errors.js";
import { parseLimit } from "../../http/limit.js";
import type { DomainDeps } from "../domain.js";
import { rowJson } from "../json.js";
import { cancelBody, cancelToolRun, newMessageBody, newSessionBody, sendMessage, startSession } from "./commands.js";
import { id } from "./events.js";
import { findSession, findToolRun, listSessions, sessionMessages, type Message } from "./queries.js";
import { commandBodyLimit, readBody } from "../../http/command-body.js";

const DEFAULT_SESSIONS = 100;
const MAX_SESSIONS = 1000;

/** Chat sessions and tool runs: their state, and the commands (a user's message, a tool cancel) that reach the agent. */
export function chatRoutes(deps: DomainDeps) {
  const app = new Hono<AppEnv>();
  const read = requireKey(deps, "read");
  const control = requireKey(deps, "control");
  // Commands are events: each costs one of the key's publishing allowance.
  const rate = limitRate(deps.limiter);
  const limit = commandBodyLimit(deps.maxEventBytes);

  /** Sessions, most recently active first (`?agent=` one agent's, `?limit=` how many). */
  app.get("/api/v1/tenants/:tenant/sessions", read, (c) => {
    const agent = c.req.query("agent");
    if (agent !== undefined && !id.safeParse(agent).success) {
      throw new ApiError(400, "invalid_filter", "agent must be 1 to 200 characters without control characters");
    }
    const count = parseLimit(c.req.query("limit"), DEFAULT_SESSIONS, MAX_SESSIONS);
    const { head, value: sessions } = deps.log.atHead(() => listSessions(deps.db, c.req.param("tenant"), { agent, limit: count }));
    return c.json({ head, sessions: sessions.map(rowJson) });
  });

  /** One session with its messages (texts assembled) and each message's tool runs. */
  app.get("/api/v1/tenants/:tenant/sessions/:session", read, (c) => {
    const tenant = c.req.param("tenant");
    const sessionId = c.req.param("session");
    const { head, value } = deps.log.atHead(() => {
      const session = findSession(deps.db, tenant, sessionId);
      return session && { session, messages: sessionMessages(deps.db, tenant, sessionId) };
    });
    if (!value) throw new ApiError(404, "not_found", `no session "${sessionId}"`);
    const { session, messages } = value;
    return c.json({ head, session: rowJson(session), messages: messages.map(messageJson) });
  });

  /** Opens a session with an agent (chat.session_started); its messages follow. */
  app.post("/api/v1/tenants/:tenant/sessions", control, rate, limit, async (c) => {
    const { id, session } = await startSession(deps, c.req.param("tenant"), await readBody(c, newSessionBody, deps.maxJsonDepth));
    return c.json({ id, session: rowJson(session) }, 201);
  });

  /** A user's message: a command to the session's agent, which answers with deltas. */
  app.post("/api/v1/tenants/:tenant/sessions/:session/messages", control, rate, limit, async (c) => {
    const body = await readBody(c, newMessageBody, deps.maxJsonDepth);
    return c.json(await sendMessage(deps, c.req.param("tenant"), c.req.param("session"), body), 201);
  });

  app.get("/api/v1/tenants/:tenant/tools/:tool", read, (c) => {
    const { head, value: run } = deps.log.atHead(() => findToolRun(deps.db, c.req.param("tenant"), c.req.param("tool")));
    if (!run) throw new ApiError(404, "not_found", `no tool run "${c.req.param("tool")}"`);
    return c.json({ head, tool: rowJson(run) });
  });

  /** Asks the session's agent to stop a tool run; it answers with tool.cancelled. 409 once the run has ended. */
  app.post("/api/v1/tenants/:tenant/tools/:tool/cancel", control, rate, limit, async (c) => {
    const body = await readBody(c, cancelBody, deps.maxJsonDepth);
    return c.json(await cancelToolRun(deps, c.req.param("tenant"), c.req.param("tool"), body), 201);
  });

  return app;
}

const messageJson = ({ tools, ...message }: Message) => ({ ...rowJson(message), tools: tools.map(rowJson) });
