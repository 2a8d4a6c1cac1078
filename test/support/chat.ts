import { expect } from "vitest";
import { walkHistory, type EventJson } from "./history-pages.js";
import { ADMIN_KEY, api, publish } from "./server.js";
import { SseClient } from "./sse-client.js";

/** Helpers for the chat domain's tests: requests, command streams, and a fold of the log into expected state. */

export const TENANT = "demo";
const BASE = `/api/v1/tenants/${TENANT}`;

export interface Reply {
  status: number;
  body: any;
}

export async function get(server: { url: string }, path: string): Promise<Reply> {
  const res = await api(server, BASE + path);
  return { status: res.status, body: await res.json() };
}

export async function post(server: { url: string }, path: string, body?: unknown): Promise<Reply> {
  const init: RequestInit = { method: "POST" };
  if (body !== undefined) {
    init.headers = { "content-type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const res = await api(server, BASE + path, init);
  return { status: res.status, body: await res.json() };
}

/** Publishes as a producer (the agent) would, and checks the status. */
export async function emit(server: { url: string }, events: unknown, status = 201): Promise<Reply> {
  const reply = await publish(server, TENANT, events);
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  return reply;
}

/** The detail of a session; fails the test unless it is a 200. */
export async function session(server: { url: string }, id: string): Promise<{ head: number; session: any; messages: any[] }> {
  const reply = await get(server, `/sessions/${encodeURIComponent(id)}`);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

export async function message(server: { url: string }, sessionId: string, messageId: string): Promise<any> {
  const found = (await session(server, sessionId)).messages.find((m) => m.message_id === messageId);
  expect(found, `message ${messageId} in ${sessionId}`).toBeDefined();
  return found;
}

/** A worker's command stream, as the agent holds it open. */
export function commandStream(server: { url: string }, worker: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return SseClient.open(`${server.url}${BASE}/workers/${encodeURIComponent(worker)}/commands`, { authorization: `Bearer ${ADMIN_KEY}`, ...headers });
}

/** The events a stream delivered (resets left out). */
export function received(client: SseClient): EventJson[] {
  return client.messages.filter((m) => m.event !== "reset").map((m) => JSON.parse(m.data) as EventJson);
}

/** Waits until the stream has delivered the event with this id. */
export async function delivered(client: SseClient, id: number): Promise<EventJson> {
  await client.until((c) => c.ids().includes(id));
  return received(client).find((e) => e.id === id)!;
}

// ---- The log, folded independently of the server's projection ----

export interface FoldedMessage {
  message_id: string;
  role: "user" | "assistant";
  /** An answer streams, then is complete or error; a user's message is pending until answered (complete), or expired. */
  status: "streaming" | "complete" | "error" | "pending" | "expired";
  reply_to: string | null;
  error: string | null;
  /** User text, or the answer's pieces by seq (the first of a repeated seq is kept). */
  text: string | Map<number, string>;
}

export interface FoldedTool {
  tool_id: string;
  session_id: string;
  message_id: string;
  name: string;
  status: string;
  progress: number;
  output: string;
  error: string | null;
  cancel_requested: boolean;
}

export interface Folded {
  sessions: Map<string, { agent: string; title: string | null; messages: Map<string, FoldedMessage> }>;
  tools: Map<string, FoldedTool>;
}

const OUTPUT_CHARS = 64 * 1024;

/**
 * What the state should be after these events: the log holds only accepted
 * events, so the rules need not be checked again, only their effects.
 */
export function fold(events: readonly EventJson[]): Folded {
  const out: Folded = { sessions: new Map(), tools: new Map() };
  /** The agent took up a user's message: its first answer event, or a tool run on the message itself. */
  const takenUp = (m: FoldedMessage | undefined) => {
    if (m && m.role === "user" && (m.status === "pending" || m.status === "expired")) m.status = "complete";
  };
  const answer = (sessionId: string, d: any): FoldedMessage => {
    const messages = out.sessions.get(sessionId)!.messages;
    let m = messages.get(d.message_id);
    if (!m) {
      m = { message_id: d.message_id, role: "assistant", status: "streaming", reply_to: d.reply_to, error: null, text: new Map() };
      messages.set(d.message_id, m);
      takenUp(messages.get(d.reply_to));
    }
    return m;
  };
  for (const e of events) {
    const d = e.data as any;
    const subject = e.subject!;
    switch (e.type) {
      case "chat.session_started":
        out.sessions.set(subject, { agent: d.agent, title: d.title ?? null, messages: new Map() });
        break;
      case "chat.message":
        if (!out.sessions.has(subject)) out.sessions.set(subject, { agent: d.agent, title: null, messages: new Map() });
        out.sessions.get(subject)!.messages.set(d.message_id, { message_id: d.message_id, role: "user", status: "pending", reply_to: null, error: null, text: d.text });
        break;
      case "chat.message_expired":
        out.sessions.get(subject)!.messages.get(d.message_id)!.status = "expired";
        break;
      case "chat.delta": {
        const pieces = answer(subject, d).text as Map<number, string>;
        if (!pieces.has(d.seq)) pieces.set(d.seq, d.text);
        break;
      }
      case "chat.completed":
        answer(subject, d).status = "complete";
        break;
      case "chat.error":
        Object.assign(answer(subject, d), { status: "error", error: d.reason });
        break;
      case "tool.started":
        if (d.reply_to !== undefined) answer(d.session_id, d);
        else takenUp(out.sessions.get(d.session_id)!.messages.get(d.message_id));
        out.tools.set(subject, { tool_id: subject, session_id: d.session_id, message_id: d.message_id, name: d.name, status: "running", progress: 0, output: "", error: null, cancel_requested: false });
        break;
      default: {
        const t = out.tools.get(subject);
        if (!t) break;
        const output = (chunk?: string) => (t.output + (chunk ?? "")).slice(-OUTPUT_CHARS);
        if (e.type === "tool.progress") Object.assign(t, { progress: d.progress ?? t.progress, output: output(d.output) });
        if (e.type === "tool.completed") Object.assign(t, { status: "completed", progress: 1, output: output(d.output), cancel_requested: false });
        if (e.type === "tool.failed") Object.assign(t, { status: "failed", error: d.reason, cancel_requested: false });
        if (e.type === "tool.cancelled") Object.assign(t, { status: "cancelled", error: d.reason ?? null, cancel_requested: false });
        if (e.type === "tool.cancel_requested") t.cancel_requested = true;
      }
    }
  }
  return out;
}

/** An answer's text: its pieces in seq order. */
export function assemble(m: FoldedMessage): string {
  if (typeof m.text === "string") return m.text;
  return [...m.text.entries()].sort(([a], [b]) => a - b).map(([, t]) => t).join("");
}

/**
 * Every state endpoint agrees with the log at the head it reports: the
 * session list and each session's detail equal the fold of the history
 * through that head (appends may go on meanwhile; later events are left out).
 */
export async function expectStateAgreesWithLog(server: { url: string }): Promise<void> {
  const list = await get(server, "/sessions?limit=1000");
  expect(list.status).toBe(200);
  const details = [];
  for (const s of list.body.sessions) details.push(await session(server, s.session_id));
  const history = await walkHistory(server, TENANT, { types: "chat.*,tool.*" });
  const at = (head: number) => fold(history.filter((e) => e.id <= head));

  const listed = at(list.body.head);
  expect(list.body.sessions.map((s: any) => s.session_id).sort()).toEqual([...listed.sessions.keys()].sort());
  for (const s of list.body.sessions) expect({ agent: s.agent, title: s.title }).toEqual({ agent: listed.sessions.get(s.session_id)!.agent, title: listed.sessions.get(s.session_id)!.title });

  for (const detail of details) {
    const folded = at(detail.head);
    const id = detail.session.session_id;
    const expected = [...folded.sessions.get(id)!.messages.values()].map((m) => ({
      message_id: m.message_id,
      role: m.role,
      status: m.status,
      reply_to: m.reply_to ?? null,
      error: m.error,
      text: assemble(m),
      tools: [...folded.tools.values()].filter((t) => t.session_id === id && t.message_id === m.message_id),
    }));
    const actual = detail.messages.map((m: any) => ({
      message_id: m.message_id,
      role: m.role,
      status: m.status,
      reply_to: m.reply_to,
      error: m.error,
      text: m.text,
      tools: m.tools.map((t: any) => ({
        tool_id: t.tool_id,
        session_id: t.session_id,
        message_id: t.message_id,
        name: t.name,
        status: t.status,
        progress: t.progress,
        output: t.output,
        error: t.error,
        cancel_requested: t.cancel_requested,
      })),
    }));
    expect(actual, `session ${id} at head ${detail.head}`).toEqual(expected);
  }
}
