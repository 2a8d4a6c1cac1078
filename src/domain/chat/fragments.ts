import { domId } from "../../console/dom-id.js";
import { descending, listPanel } from "../../console/live-list.js";
import type { Panel, PanelContext } from "../../console/panels.js";
import { insertPartial, morphPartial } from "../../console/partials.js";
import type { StoredEvent } from "../../event.js";
import type { Db } from "../../store/db.js";
import { topicOf } from "../registry.js";
import { chatTypes, MAX_MESSAGE_CHARS } from "./events.js";
import { agentPresence, messageNotice, type Presence } from "./notices.js";
import { sessionLabel } from "./feed.js";
import { renderPager } from "../../console/list-page.js";
import { SESSION_STATUSES } from "./schema.js";
import { sessionFilter, sessionParams } from "./sessions-filter.js";
import {
  findMessage,
  findSession,
  findToolRun,
  messageVersion,
  pendingInSession,
  SESSIONS_PAGE,
  sessionMessages,
  sessionsPage,
  turnMessages,
  type ListedSession,
  type Message,
  type ToolRun,
} from "./queries.js";

/** What the chat templates need besides their data: ids, who may press buttons, and what a message waits for. */
function viewData(ctx: PanelContext, agent: string) {
  let presence: Presence | undefined;
  const present = () => (presence ??= ctx.tenant ? agentPresence(ctx.db, ctx.tenant, agent) : "unknown");
  return { tenant: ctx.tenant, canControl: ctx.canControl, csrf: ctx.csrf, agent, domId, notice: (m: Message) => messageNotice(m, agent, present) };
}

// ---- the sessions list (its own page, /t/:tenant/sessions) ----

/** The sessions list's path under /t/:tenant. */
export const SESSIONS_PATH = "sessions";

const CHAT_EVENT_TYPES = Object.keys(chatTypes).filter((t) => topicOf(t) === "chat");

const listPage = (ctx: PanelContext) => sessionsPage(ctx.db, ctx.tenant!, sessionFilter(ctx.query));

function renderRow(ctx: PanelContext, s: ListedSession): string {
  return ctx.views.render("partials/session-row", {
    tenant: ctx.tenant,
    s,
    label: sessionLabel(s),
    id: domId("session", s.sessionId),
    order: `${descending(s.updatedAt)}${descending(s.seq)}`,
  });
}

const renderPagerOf = (ctx: PanelContext, older = listPage(ctx).older) => renderPager(ctx, SESSIONS_PATH, older, "sessions-pager");

/** The list (#sessions): a page of rows and its pager. */
function renderSessionsList(ctx: PanelContext): string {
  const { rows, older } = listPage(ctx);
  const f = sessionFilter(ctx.query);
  const filtered = f.status !== null || f.agent !== null || f.unread || f.q !== null;
  return ctx.views.render("partials/sessions-list", {
    rows: rows.map((s) => renderRow(ctx, s)),
    max: SESSIONS_PAGE,
    pager: renderPagerOf(ctx, older),
    empty: f.cursor ? "No older sessions." : filtered ? "No sessions match these filters." : "No chat sessions yet.",
  });
}

/** The session a chat or tool event concerns: a chat event's subject, the session a tool run belongs to. */
function sessionOf(ctx: PanelContext, e: StoredEvent): string | null {
  if (topicOf(e.type) === "chat") return e.subject;
  if (e.type === "tool.started") return (JSON.parse(e.data) as { session_id?: string }).session_id ?? null;
  return e.subject !== null && ctx.tenant ? (findToolRun(ctx.db, ctx.tenant, e.subject)?.sessionId ?? null) : null;
}

/**
 * A tenant's chat sessions, most recently active first, 50 a page,
 * filtered by the URL, each its own live row linking to its session view:
 * a session moves to the top with every message, answer and tool run. The
 * filter form and the "new session" form sit in the page's frame, outside
 * #sessions (what live updates change).
 */
export const sessionsListPanel = listPanel<ListedSession>({
  id: "sessions",
  // Tool runs too: each one marks its session active.
  topics: ["chat", "tool"],
  params: sessionParams,
  render: renderSessionsList,
  page(ctx) {
    const f = sessionFilter(ctx.query);
    return ctx.views.render("partials/sessions-panel", {
      tenant: ctx.tenant,
      f,
      statuses: SESSION_STATUSES,
      list: renderSessionsList(ctx),
      form: renderNewSessionForm(ctx, {}),
    });
  },
  // Any chat event may change a session's status (and so whether it passes a status or unread filter).
  lists: [{ id: "sessions-rows", members: (ctx) => listPage(ctx).rows, max: SESSIONS_PAGE, leaves: CHAT_EVENT_TYPES }],
  key: (s) => s.sessionId,
  // Only chat events and a run's start name their session without a read; changed() reads the rest.
  eventKey: (e) => (topicOf(e.type) === "chat" ? e.subject : e.type === "tool.started" ? ((JSON.parse(e.data) as { session_id?: string }).session_id ?? null) : null),
  changed(ctx, events) {
    const keys = new Set<string>();
    for (const e of events) {
      const k = sessionOf(ctx, e);
      if (k !== null) keys.add(k);
    }
    return keys;
  },
  itemId: (key) => domId("session", key),
  item: renderRow,
  parts: [{ id: "sessions-pager", render: (ctx) => renderPagerOf(ctx) }],
});

/** The "new session" form (control scope only; empty otherwise), with what was typed and why it was refused. */
export function renderNewSessionForm(ctx: PanelContext, state: { agent?: string; title?: string; error?: string }): string {
  if (!ctx.canControl) return "";
  return ctx.views.render("partials/new-session-form", { tenant: ctx.tenant, csrf: ctx.csrf, agent: state.agent ?? "", title: state.title ?? "", error: state.error ?? null });
}

// ---- the session view ----

/** A transcript grouped in turns: each user message followed by the answers to it. */
interface Turn {
  id: string;
  messages: Message[];
}

function turnsOf(messages: Message[]): Turn[] {
  const turns: Turn[] = [];
  const byQuestion = new Map<string, Turn>();
  for (const m of messages) {
    const turn = m.role === "assistant" && m.replyTo ? byQuestion.get(m.replyTo) : undefined;
    if (turn) turn.messages.push(m);
    else {
      const t = { id: m.role === "user" ? m.messageId : (m.replyTo ?? m.messageId), messages: [m] };
      turns.push(t);
      byQuestion.set(t.id, t);
    }
  }
  return turns;
}

function renderTurn(ctx: PanelContext, agent: string, turn: Turn): string {
  return ctx.views.render("partials/chat-turn", { ...viewData(ctx, agent), turn });
}

export function renderToolRun(ctx: PanelContext, run: ToolRun, error: string | null = null): string {
  return ctx.views.render("partials/tool-run", { ...viewData(ctx, ""), run, error });
}

/** The message form, below the transcript (never inside what live updates replace), cleared or with what was typed. */
export function renderMessageForm(ctx: PanelContext, sessionId: string, agent: string, state: { text?: string; error?: string } = {}): string {
  if (!ctx.canControl) return "";
  return ctx.views.render("partials/chat-message-form", {
    tenant: ctx.tenant,
    csrf: ctx.csrf,
    sessionId,
    agent,
    text: state.text ?? "",
    error: state.error ?? null,
    max: MAX_MESSAGE_CHARS,
  });
}

/**
 * A session's transcript (#transcript-items). Rendered whole for the page
 * (and a far-behind reconnect); live, each event sends only what it changed:
 * a new turn for a user's message, the one message an answer event touched
 * (its `msg-…` partial), or the one tool run.
 */
export function transcriptPanel(tenant: string, sessionId: string): Panel {
  const agentOf = (db: Db) => findSession(db, tenant, sessionId)?.agent ?? "";
  return {
    id: "transcript-items",
    // The agent's presence too: a message waiting for it says whether it is connected.
    topics: ["chat", "tool", "agent"],
    render(ctx) {
      const agent = agentOf(ctx.db);
      return ctx.views.render("partials/chat-transcript", { ...viewData(ctx, agent), turns: turnsOf(sessionMessages(ctx.db, tenant, sessionId)) });
    },
    update(ctx, events) {
      const agent = agentOf(ctx.db);
      return events.map((e) => transcriptUpdate(ctx, tenant, sessionId, agent, e)).filter((part): part is string => part !== null);
    },
  };
}

/**
 * The partial an event needs on the session view, read from current state.
 * State can be ahead of the event (a batch committed together, or a replay):
 * an event whose message or run a later event changed again sends nothing,
 * since that later event re-renders it (bursts coalesce, never reorder), and
 * an event that changed nothing (a repeated delta) sends nothing either.
 */
function transcriptUpdate(ctx: PanelContext, tenant: string, sessionId: string, agent: string, e: StoredEvent): string | null {
  const data = JSON.parse(e.data) as { message_id?: string; reply_to?: string };
  if (e.type === "chat.message") {
    const turn = turnsOf(turnMessages(ctx.db, tenant, sessionId, data.message_id!))[0];
    return turn ? insertPartial("transcript-items", "beforeend", renderTurn(ctx, agent, turn)) : null;
  }
  // The first event of an answer (it names reply_to) may have created it: its whole turn, which exists.
  const turnOfQuestion = (question: string) => {
    const turn = turnsOf(turnMessages(ctx.db, tenant, sessionId, question))[0];
    return turn ? morphPartial(domId("turn", question), renderTurn(ctx, agent, turn)) : null;
  };
  const message = (messageId: string) => {
    const m = findMessage(ctx.db, tenant, sessionId, messageId);
    return m ? morphPartial(domId("msg", messageId), ctx.views.render("partials/chat-message", { ...viewData(ctx, agent), m })) : null;
  };
  // The agent came or went: the messages waiting for it say so.
  if (topicOf(e.type) === "agent") return pendingInSession(ctx.db, tenant, sessionId).map(message).join("\n") || null;
  if (topicOf(e.type) === "chat") {
    if (!data.message_id) return null; // chat.session_started
    const version = messageVersion(ctx.db, tenant, sessionId, data.message_id);
    if (version === undefined || version < e.id) return null;
    if (data.reply_to !== undefined) return turnOfQuestion(data.reply_to);
    return version > e.id ? null : message(data.message_id);
  }
  const run = e.subject ? findToolRun(ctx.db, tenant, e.subject) : undefined;
  if (!run) return null;
  if (e.type === "tool.started") return data.reply_to !== undefined ? turnOfQuestion(data.reply_to) : message(run.messageId);
  return run.eventId === e.id ? morphPartial(domId("tool", run.toolId), renderToolRun(ctx, run)) : null;
}

/** The events of one session's view: its chat.* events, the tool.* events of its runs, and its agent coming and going. */
export function sessionEvents(db: Db, tenant: string, sessionId: string): (e: StoredEvent) => boolean {
  let agent: string | undefined;
  return (e) => {
    const topic = topicOf(e.type);
    if (topic === "chat") return e.subject === sessionId;
    if (topic === "tool") return e.subject !== null && findToolRun(db, tenant, e.subject)?.sessionId === sessionId;
    if (e.type === "agent.connected" || e.type === "agent.disconnected") return e.subject === (agent ??= findSession(db, tenant, sessionId)?.agent);
    return false;
  };
}
