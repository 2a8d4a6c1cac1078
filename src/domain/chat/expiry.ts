import type { StoredEvent } from "../../event.js";
import { AppendRejected } from "../../store/event-log.js";
import { ShuttingDown } from "../../store/sqlite-event-log.js";
import { Deadlines } from "../deadlines.js";
import type { DomainContext } from "../domain.js";
import { chatMessageExpired } from "./events.js";
import { findSession, messageStatus, pendingMessages } from "./queries.js";

/**
 * A user's message that its agent does not answer within COMMAND_TIMEOUT_MS
 * gets a `chat.message_expired`, as a workflow control does: the operator
 * learns that nobody took it (an unknown agent, one that stayed offline, or
 * one that hung) instead of watching it wait forever. Deadlines are set when
 * a message commits and checked when they fire; answers do not clear them,
 * so the many deltas of an answer cost nothing here. The projection refuses
 * the expiry of a message answered meanwhile.
 */
export class MessageExpiry {
  readonly #deadlines = new Deadlines();

  constructor(private readonly ctx: DomainContext) {}

  onCommit(e: StoredEvent): void {
    if (e.type !== "chat.message" || e.subject === null) return;
    const { message_id: messageId } = JSON.parse(e.data) as { message_id: string };
    this.#arm(e.tenant, e.subject, messageId, e.ts);
  }

  /** On boot: messages left waiting by the last run expire at their original deadline (at once if past). */
  start(): void {
    this.#deadlines.start();
    for (const m of pendingMessages(this.ctx.db)) this.#arm(m.tenant, m.sessionId, m.messageId, m.createdAt);
  }

  stop(): void {
    this.#deadlines.stop();
  }

  #arm(tenant: string, sessionId: string, messageId: string, sentAt: number): void {
    this.#deadlines.set(key(tenant, sessionId, messageId), sentAt + this.ctx.commandTimeoutMs, () => this.#expire(tenant, sessionId, messageId));
  }

  #expire(tenant: string, sessionId: string, messageId: string): void {
    // Most messages are answered in time: only those still waiting need a write.
    if (messageStatus(this.ctx.db, tenant, sessionId, messageId) !== "pending") return;
    const agent = findSession(this.ctx.db, tenant, sessionId)!.agent;
    const data = chatMessageExpired.parse({ message_id: messageId, agent });
    this.ctx.log
      .append(tenant, [{ type: "chat.message_expired", subject: sessionId, data: JSON.stringify(data), key: null }])
      .catch((err: Error) => {
        // The answer committed first (409), or the server is stopping: both expected.
        const expected = err instanceof AppendRejected || err instanceof ShuttingDown;
        this.ctx.logger[expected ? "debug" : "warn"]("chat message expiry not appended", { tenant, session: sessionId, message: messageId, error: err.message });
      });
  }
}

const key = (tenant: string, sessionId: string, messageId: string) => `${tenant}\u0000${sessionId}\u0000${messageId}`;
