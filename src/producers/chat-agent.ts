/**
 * A chat agent (worker `helper-bot`): it answers the users' messages of its
 * sessions by streaming its reply word by word, and for some questions first
 * runs a tool (an order lookup, a knowledge-base search…) whose progress and
 * output the console shows — and which the user can cancel.
 *
 *   SWITCHBOARD_KEY=$KEY npm run producer:chat -- --url http://localhost:3000 [--tenant demo] [--speed 1] [--seed true|false] [--after <event id>]
 *
 * It uses only Switchboard's public HTTP API, through ./client.js:
 * - it holds its command stream (`/workers/helper-bot/commands`), which is
 *   also its presence, and receives `chat.message` (a user's message) and
 *   `tool.cancel_requested` (stop a tool run) there, one at a time, in order;
 * - it answers with `chat.delta` {message_id, seq, text, reply_to}, then
 *   `chat.completed`; a tool run is `tool.started` {session_id, message_id,
 *   name, input, reply_to}, `tool.progress` {progress, output}, then
 *   `tool.completed`, `tool.failed` or (on request) `tool.cancelled`.
 *
 * Every event carries an idempotency key derived from the command it
 * answers, and everything an answer says (its words, whether it runs a tool,
 * the tool's output) is derived from the message itself: a command
 * delivered again (a retry, a resumed stream) produces the same events with
 * the same keys, so nothing is appended twice. Answers run concurrently
 * across sessions; within a session they are answered one after another,
 * and each answer's events are published strictly in order.
 *
 * On start it also catches up: its command stream begins just before the
 * oldest message of its recent sessions that has no finished answer (one
 * sent while it was down, or one it was killed in the middle of), else at
 * the log's head; `--after <event id>` sets that position by hand. After a
 * server restart, the stream resumes with Last-Event-ID, so no command is
 * missed or handled twice.
 *
 * With `--seed` (the default) it also opens a session or two for itself and
 * now and then posts a user's question into one of them, so a fresh console
 * has a conversation to show. That is demo seeding only: in a real
 * deployment, users send the messages (from the console or the API).
 */
import { createHash, randomUUID } from "node:crypto";
import { HttpError, runProducer, sleep, type Command, type EventInput, type SwitchboardClient } from "./client.js";
import { pick, seeded } from "./random.js";

const WORKER = "helper-bot";

/** The seeded sessions, found again by title when the agent restarts against the same server. */
const SEED_SESSIONS = ["Customer support (demo)", "Travel desk (demo)"];

/** Questions the seeding posts; some need a tool (orders, refunds, weather, "look up"), some do not. */
const SEED_QUESTIONS = [
  "Where is order 4471? It was supposed to arrive yesterday.",
  "Can I get a refund for order 3120? The box arrived damaged.",
  "What's the weather going to be like in Lisbon tomorrow?",
  "Could you look up how to reset my password?",
  "Hi! What can you help me with?",
  "Do you ship to Canada?",
  "What are your opening hours on public holidays?",
  "Has order 5582 shipped yet?",
  "Please look up the warranty terms for the X200 headphones.",
  "Is it going to rain in Oslo this weekend? Checking the weather before I fly.",
  "How do I change the delivery address on my account?",
  "Thanks, that was helpful!",
];

interface Tool {
  name: string;
  input: Record<string, unknown>;
  /** Output lines printed while it runs, one chunk per progress step. */
  lines: string[];
  /** The final output line (tool.completed). */
  result: string;
  /** The answer given with the tool's result. */
  answer: string;
}


/** The tool a question calls for, if any: by keywords, and now and then a knowledge-base search anyway. */
export function chooseTool(text: string, rand: () => number): Tool | null {
  const lower = text.toLowerCase();
  const orderId = /\b(\d{3,8})\b/.exec(text)?.[1] ?? String(1000 + Math.floor(rand() * 9000));
  if (/\brefund/.test(lower)) {
    const amount = (20 + rand() * 180).toFixed(2);
    return {
      name: "check_refund",
      input: { order_id: orderId },
      lines: [`GET /orders/${orderId} → 200\n`, `order ${orderId}: delivered, paid €${amount} by card\n`, "refund policy: 30 days, damaged goods always eligible\n", `eligible: yes (€${amount})\n`],
      result: `refund ${orderId}-R opened for €${amount}\n`,
      answer: `I've opened a refund of €${amount} for order ${orderId}. It should reach your card within 3 to 5 business days, and you don't need to send anything back.`,
    };
  }
  if (/\border\b|\bshipped\b|\bparcel\b|\bdelivery\b/.test(lower) && /\d/.test(text)) {
    const carrier = pick(rand, ["DHL", "UPS", "PostNL", "Royal Mail"]);
    const day = pick(rand, ["Tuesday", "Wednesday", "Thursday", "Friday"]);
    const tracking = `TRK${Math.floor(rand() * 1e9).toString().padStart(9, "0")}`;
    return {
      name: "lookup_order",
      input: { order_id: orderId },
      lines: [`GET /orders/${orderId} → 200\n`, `status: shipped (${carrier})\n`, `tracking: ${tracking}\n`, `last scan: sorting centre, on time\n`],
      result: `estimated delivery: ${day}\n`,
      answer: `Order ${orderId} has shipped with ${carrier} (tracking ${tracking}). The last scan was at the sorting centre and it's on time: expect it on ${day}.`,
    };
  }
  if (/weather|\brain\b|forecast|temperature/.test(lower)) {
    const city = /\bin ([A-Z][a-z]+)/.exec(text)?.[1] ?? "your city";
    const temp = Math.round(8 + rand() * 20);
    const sky = pick(rand, ["sunny", "partly cloudy", "overcast", "light rain"]);
    return {
      name: "get_weather",
      input: { city },
      lines: [`geocode "${city}" → ok\n`, `fetching forecast (3 days)\n`, `tomorrow: ${sky}, ${temp}°C\n`],
      result: `forecast for ${city}: ${sky}, high ${temp}°C\n`,
      answer: `The forecast for ${city} says ${sky} with a high of about ${temp}°C.${sky === "light rain" ? " Take an umbrella!" : " Should be a nice day."}`,
    };
  }
  if (/look ?up|search|find out|warranty|how do i|how to/.test(lower) || rand() < 0.2) {
    const hits = 2 + Math.floor(rand() * 4);
    const article = `KB-${100 + Math.floor(rand() * 900)}`;
    return {
      name: "search_kb",
      input: { query: text.slice(0, 120) },
      lines: [`searching 1,284 articles\n`, `${hits} matches\n`, `best match: ${article} (score 0.${80 + Math.floor(rand() * 19)})\n`],
      result: `read ${article}\n`,
      answer: `According to our help centre (article ${article}), ${topicAnswer(lower)} Let me know if you'd like the full article.`,
    };
  }
  return null;
}

function topicAnswer(lower: string): string {
  if (lower.includes("password")) return "you can reset your password from the sign-in page: choose \"Forgot password\" and follow the link we email you within a minute.";
  if (lower.includes("warranty")) return "the X200 headphones come with a two-year warranty covering defects, and a battery replacement is free in the first year.";
  if (lower.includes("address")) return "you can change the delivery address under Account, then Addresses, as long as the order has not shipped yet.";
  return "this is covered in detail there, and the short version is that our team can sort it out for you the same day.";
}

/** An answer without a tool. */
function plainAnswer(text: string, rand: () => number): string {
  const lower = text.toLowerCase();
  if (/thank/.test(lower)) return pick(rand, ["You're welcome! Happy to help any time.", "Glad I could help. Have a great day!"]);
  if (/^(hi|hello|hey)\b/.test(lower) || lower.includes("help me with")) {
    return "Hi! I can track orders, open refunds, check the weather for your trip and look things up in our help centre. What do you need?";
  }
  if (lower.includes("canada") || lower.includes("ship to")) return "Yes, we ship to Canada. Delivery usually takes 5 to 8 business days, and duties are included in the price at checkout.";
  if (lower.includes("hours") || lower.includes("holiday")) return "On public holidays our support team is available from 10:00 to 16:00, and this chat answers around the clock.";
  return pick(rand, [
    "Good question. I don't have a definite answer for that yet, but I've noted it for a colleague who will follow up by email today.",
    "Sure. The quickest way is through your account page, and if anything looks off there, just tell me and I'll take it from here.",
    "I can help with that. Could you tell me a bit more, for example an order number or the product you mean?",
  ]);
}

/** Words with their following space, as the deltas stream them. */
const words = (text: string) => text.split(/(?<= )/).filter(Boolean);

/** A short stable id for a tool run: unique per session and message, the same on every delivery of the command. */
const toolRunId = (sessionId: string, messageId: string) => `run-${createHash("sha256").update(`${sessionId}\n${messageId}`).digest("hex").slice(0, 16)}`;

const isConflict = (err: unknown) => err instanceof HttpError && err.status === 409;

interface Options {
  speed: number;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** The agent: turns commands into answers. Exported so a test can drive it without a child process. */
export class ChatAgent {
  /** The tail of each session's queue of answers: a session's answers run one after another. */
  readonly #queues = new Map<string, Promise<void>>();
  /** Answers already taken on (session + message), so a command delivered twice is answered once. */
  readonly #taken = new Set<string>();
  /** Tool runs in progress, by run id: aborting one stops it (tool.cancelled). */
  readonly #running = new Map<string, AbortController>();
  #busy = 0;
  /** Commands up to this id were sent before the agent started: answer them only if nobody has yet. */
  catchUpThrough = 0;

  constructor(
    readonly client: SwitchboardClient,
    readonly options: Options,
  ) {}

  /** Every answer still running (for a clean stop). */
  idle(): Promise<void> {
    return Promise.all([...this.#queues.values()]).then(() => {});
  }

  /** Handles one command; returns at once for a message (the answer runs in the background, in its session's queue). */
  async handle(command: Command): Promise<void> {
    if (command.type === "chat.message") return this.#onMessage(command);
    if (command.type === "tool.cancel_requested") return this.#onCancel(command);
  }

  #onMessage(command: Command): void {
    const sessionId = command.subject;
    const { message_id: messageId, text } = command.data as { message_id?: unknown; text?: unknown };
    if (!sessionId || typeof messageId !== "string" || typeof text !== "string") return;
    const taken = `${sessionId}\n${messageId}`;
    if (this.#taken.has(taken)) return;
    this.#taken.add(taken);
    if (this.#taken.size > 10_000) this.#taken.delete(this.#taken.values().next().value!);

    const previous = this.#queues.get(sessionId) ?? Promise.resolve();
    const next = previous
      .then(() => this.#answer(command, sessionId, messageId, text))
      .catch((err) => this.options.log(`answer to ${messageId} in ${sessionId} failed: ${(err as Error).message}`));
    this.#queues.set(sessionId, next);
    void next.then(() => {
      if (this.#queues.get(sessionId) === next) this.#queues.delete(sessionId);
    });
  }

  async #onCancel(command: Command): Promise<void> {
    const toolId = command.subject;
    if (!toolId) return;
    const running = this.#running.get(toolId);
    if (running) {
      running.abort();
      return;
    }
    // Not one of ours in progress: it already ended (nothing to do), or it was left running by an
    // earlier run of this agent — then nobody will finish it, so confirm the cancel ourselves.
    try {
      const { tool } = (await this.client.get(`/tools/${encodeURIComponent(toolId)}`)) as { tool: { status: string } };
      if (tool.status !== "running") return;
      await this.client.publish({ type: "tool.cancelled", subject: toolId, data: { reason: "cancelled by the user" }, key: `${WORKER}:c${command.id}:tool-cancelled` });
    } catch (err) {
      if (!isConflict(err) && !(err instanceof HttpError && err.status === 404)) throw err;
    }
  }

  /** Sleeps `ms` (divided by the speed), with ±40% jitter; resolves early on `signal`. */
  #pause(ms: number, signal: AbortSignal = this.options.signal) {
    return sleep((ms * (0.6 + Math.random() * 0.8)) / this.options.speed, signal);
  }

  async #setBusy(delta: 1 | -1, command: Command): Promise<void> {
    this.#busy += delta;
    const status = this.#busy > 0 ? "busy" : "available";
    // Only the edges are reported: the first answer taken on, the last one finished.
    if ((delta === 1 && this.#busy !== 1) || (delta === -1 && this.#busy !== 0)) return;
    const data = status === "busy" ? { status, execution_id: command.subject! } : { status };
    await this.client
      .publish({ type: "agent.status", subject: WORKER, data, key: `${WORKER}:c${command.id}:${status}` }, { attempts: 3 })
      .catch((err) => this.options.log(`status ${status}: ${(err as Error).message}`));
  }

  async #answer(command: Command, sessionId: string, userMessageId: string, text: string): Promise<void> {
    const { signal } = this.options;
    if (signal.aborted) return;
    if (command.id <= this.catchUpThrough) {
      // Caught up from before our start: skip it if it was answered meanwhile (by an earlier run of this agent).
      const view = (await this.client.get(`/sessions/${encodeURIComponent(sessionId)}`)) as SessionView;
      if (!unanswered(view).some((m) => m.message_id === userMessageId)) return;
    }
    const rand = seeded(`${sessionId}\n${userMessageId}\n${text}`);
    const replyId = `${userMessageId}-r`;
    const key = (what: string) => `${WORKER}:c${command.id}:${what}`;
    const publish = (event: EventInput) => this.client.publish(event);
    await this.#setBusy(1, command);
    try {
      // "Reading" the question.
      await this.#pause(400);
      const tool = chooseTool(text, rand);
      let reply: string;
      if (tool) {
        const outcome = await this.#runTool(command, sessionId, userMessageId, replyId, tool, rand);
        if (outcome === "stopped") return this.#abandon(command, sessionId, userMessageId, replyId);
        reply =
          outcome === "completed"
            ? tool.answer
            : outcome === "cancelled"
              ? "Okay, I've cancelled the lookup. Let me know if you want me to try again."
              : `Sorry, ${tool.name} is not answering right now. Please try again in a minute, or ask me something else.`;
      } else {
        reply = plainAnswer(text, rand);
      }
      const pieces = words(reply);
      for (const [seq, piece] of pieces.entries()) {
        if (signal.aborted) return this.#abandon(command, sessionId, userMessageId, replyId);
        await publish({ type: "chat.delta", subject: sessionId, data: { message_id: replyId, seq, text: piece, reply_to: userMessageId }, key: key(`delta:${seq}`) });
        await this.#pause(55);
      }
      await publish({ type: "chat.completed", subject: sessionId, data: { message_id: replyId, reply_to: userMessageId }, key: key("completed") });
    } catch (err) {
      // A 409 here means the answer already ended (e.g. another instance of this agent answered).
      if (isConflict(err)) this.options.log(`answer to ${userMessageId}: ${(err as HttpError).body}`);
      else await this.#fail(command, sessionId, userMessageId, replyId, `the agent could not answer: ${(err as Error).message}`);
    } finally {
      await this.#setBusy(-1, command);
    }
  }

  /**
   * Runs a tool for the answer: tool.started, progress with output, then
   * completed / failed (now and then, as a flaky backend would), or
   * cancelled when the user asks. "stopped": the agent itself is stopping.
   */
  async #runTool(command: Command, sessionId: string, userMessageId: string, replyId: string, tool: Tool, rand: () => number): Promise<"completed" | "failed" | "cancelled" | "stopped"> {
    const toolId = toolRunId(sessionId, userMessageId);
    const key = (what: string) => `${WORKER}:c${command.id}:tool:${what}`;
    const cancel = new AbortController();
    this.#running.set(toolId, cancel);
    const signal = AbortSignal.any([cancel.signal, this.options.signal]);
    try {
      await this.client.publish({
        type: "tool.started",
        subject: toolId,
        data: { session_id: sessionId, message_id: replyId, reply_to: userMessageId, name: tool.name, input: tool.input },
        key: key("started"),
      });
      const fails = rand() < 0.08;
      const steps = tool.lines.length;
      for (const [i, line] of tool.lines.entries()) {
        await this.#pause(900, signal);
        if (signal.aborted) break;
        if (fails && i === steps - 1) {
          await this.client.publish({ type: "tool.failed", subject: toolId, data: { reason: `${tool.name}: upstream timed out after 5 s` }, key: key("failed") });
          return "failed";
        }
        const progress = Math.round(((i + 1) / (steps + 1)) * 100) / 100;
        await this.client.publish({ type: "tool.progress", subject: toolId, data: { progress, output: line }, key: key(`progress:${i}`) });
      }
      if (!signal.aborted) await this.#pause(500, signal);
      if (cancel.signal.aborted) {
        await this.client.publish({ type: "tool.cancelled", subject: toolId, data: { reason: "cancelled by the user" }, key: key("cancelled") });
        return "cancelled";
      }
      if (this.options.signal.aborted) {
        await this.client
          .publish({ type: "tool.failed", subject: toolId, data: { reason: "the agent stopped" }, key: key("stopped") }, { attempts: 2 })
          .catch(() => {});
        return "stopped";
      }
      await this.client.publish({ type: "tool.completed", subject: toolId, data: { output: tool.result }, key: key("completed") });
      return "completed";
    } catch (err) {
      // The run has already ended (a command delivered again after a restart, whose run was cancelled
      // meanwhile): answer according to how it ended.
      if (!isConflict(err)) throw err;
      const { tool: run } = (await this.client.get(`/tools/${encodeURIComponent(toolId)}`)) as { tool: { status: string } };
      if (run.status === "completed" || run.status === "failed" || run.status === "cancelled") return run.status;
      throw err;
    } finally {
      this.#running.delete(toolId);
    }
  }

  /** The agent is stopping mid-answer: say so (best effort, quickly), rather than leave the answer streaming forever. */
  #abandon(command: Command, sessionId: string, userMessageId: string, replyId: string): Promise<void> {
    return this.#fail(command, sessionId, userMessageId, replyId, "the agent stopped before finishing its answer");
  }

  async #fail(command: Command, sessionId: string, userMessageId: string, replyId: string, reason: string): Promise<void> {
    await this.client
      .publish({ type: "chat.error", subject: sessionId, data: { message_id: replyId, reply_to: userMessageId, reason: reason.slice(0, 1000) }, key: `${WORKER}:c${command.id}:error` }, { attempts: 2 })
      .catch((err) => this.options.log(`could not report the error of ${replyId}: ${(err as Error).message}`));
  }
}

/** Demo seeding: a session or two for this agent, and now and then a user's question in one of them. */
async function seed(client: SwitchboardClient, options: Options): Promise<void> {
  const { signal, speed, log } = options;
  let sessions: string[];
  try {
    const { sessions: existing } = (await client.get(`/sessions?agent=${WORKER}&limit=1000`)) as { sessions: { session_id: string; title: string | null }[] };
    sessions = [];
    for (const title of SEED_SESSIONS) {
      const found = existing.find((s) => s.title === title);
      if (found) sessions.push(found.session_id);
      else sessions.push(((await client.post("/sessions", { agent: WORKER, title })) as { session: { session_id: string } }).session.session_id);
    }
  } catch (err) {
    log(`seeding is off: ${(err as Error).message}`);
    return;
  }
  log(`seeding questions into ${sessions.length} sessions`);
  let delay = 1500;
  let n = 0;
  while (!signal.aborted) {
    await sleep(delay / speed, signal);
    if (signal.aborted) return;
    const sessionId = sessions[n % sessions.length];
    const text = SEED_QUESTIONS[Math.floor(Math.random() * SEED_QUESTIONS.length)];
    try {
      // A message id of our own: a retried POST is then a 409 (already there), never a second message.
      await client.post(`/sessions/${encodeURIComponent(sessionId)}/messages`, { text, message_id: randomUUID() });
    } catch (err) {
      if (!isConflict(err)) log(`seed message: ${(err as Error).message}`);
    }
    n++;
    delay = 12_000 + Math.random() * 18_000;
  }
}

/** How many of its most recently active sessions the agent checks for unanswered messages when it starts. */
const CATCH_UP_SESSIONS = 50;

interface SessionView {
  messages: { message_id: string; role: string; status: string; reply_to: string | null; event_id: number }[];
}

/** The user messages of a session that have no finished answer (none, or one still streaming). */
function unanswered(view: SessionView) {
  const answered = new Set(view.messages.filter((m) => m.role === "assistant" && m.status !== "streaming").map((m) => m.reply_to));
  return view.messages.filter((m) => m.role === "user" && !answered.has(m.message_id));
}

/** The position just before the oldest unanswered message in this agent's recent sessions, or `head` when there is none. */
async function oldestUnanswered(client: SwitchboardClient, head: number): Promise<number> {
  const { sessions } = (await client.get(`/sessions?agent=${encodeURIComponent(WORKER)}&limit=${CATCH_UP_SESSIONS}`)) as { sessions: { session_id: string }[] };
  let start = head;
  for (const { session_id } of sessions) {
    const view = (await client.get(`/sessions/${encodeURIComponent(session_id)}`)) as SessionView;
    for (const m of unanswered(view)) start = Math.min(start, m.event_id - 1);
  }
  return start;
}

function flagOn(flags: Record<string, string>, name: string, fallback: boolean): boolean {
  if (flags[`no-${name}`] !== undefined) return false;
  const v = flags[name];
  if (v === undefined) return fallback;
  return !["false", "0", "no", "off"].includes(v.toLowerCase());
}

runProducer("chat-agent", async (client, flags, signal) => {
  const speed = Number(flags.speed ?? "1");
  if (!(speed > 0)) throw new Error("--speed must be a positive number");
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const options: Options = { speed, signal, log };
  const agent = new ChatAgent(client, options);

  // Where the command stream starts: at the log's head, so a message sent from now on reaches us even
  // if it is posted before the stream is connected (as the seeding's first one may be) — or earlier,
  // just before the oldest message of ours still unanswered (sent before we started, or left
  // half-answered by an earlier run), so none is missed. `--after <id>` picks the position instead.
  // Commands delivered again are harmless: their answers are skipped or append nothing new.
  const { head } = (await client.get(`/sessions?limit=1`)) as { head: number };
  const start = flags.after !== undefined ? Number(flags.after) : await oldestUnanswered(client, head);
  if (!Number.isInteger(start) || start < 0) throw new Error("--after must be an event id (a non-negative integer)");
  agent.catchUpThrough = head;
  await client
    .publish({ type: "agent.status", subject: WORKER, data: { status: "available", name: "Helper bot", capabilities: ["chat", "lookup_order", "check_refund", "get_weather", "search_kb"] }, key: `${WORKER}:start:${randomUUID()}` })
    .catch((err) => log(`status: ${(err as Error).message}`));
  log(`answering as ${WORKER} from event ${start} (speed ${speed})`);

  const seeding = flagOn(flags, "seed", true) ? seed(client, options) : Promise.resolve();
  await client.holdCommands(WORKER, (command) => agent.handle(command), { signal, lastEventId: start });
  await Promise.all([seeding, agent.idle()]);
  log("stopped");
});
