/**
 * Agent workers ada, grace and linus: each holds its own command stream
 * (which is its presence on Switchboard) and reports its status as it works.
 *
 *   SWITCHBOARD_KEY=sb_… npm run producer:agents -- --url http://localhost:3000 --tenant demo [--speed 1] [--grace-ms 10000]
 *
 * What they do:
 * - calls: the tenant's call stream (`call.started` / `call.ended`) says which
 *   agent is on which call; the agent is busy with the call's id while it lasts
 *   (so the agents panel and the call panel agree — run the voice provider too);
 * - chat: a user message sent to one of them (a console session with agent
 *   `ada`, say) arrives on its command stream; it is busy with the session while
 *   it streams a short reply word by word; between calls they also work
 *   simulated chat sessions (busy with a `chat-…` id);
 * - now and then one hits an error (a reason is shown) and recovers;
 * - now and then one drops its command stream and reconnects, resuming with
 *   Last-Event-ID (no command missed or repeated): a short blip shows nothing,
 *   a drop longer than the server's PRESENCE_GRACE_MS (`--grace-ms`, default
 *   the env's PRESENCE_GRACE_MS or 10000) shows agent.disconnected, then
 *   agent.connected.
 * `--speed` divides every delay except a long drop's grace period, which is
 * the server's clock, not ours.
 */
import { randomBytes, randomInt } from "node:crypto";
import { runProducer, sleep, sseFrames, type Command, type SwitchboardClient } from "./client.js";

interface Profile {
  id: string;
  name: string;
  capabilities: string[];
}

const PROFILES: Profile[] = [
  { id: "ada", name: "Ada (voice)", capabilities: ["voice", "billing"] },
  { id: "grace", name: "Grace (voice + chat)", capabilities: ["voice", "chat", "orders"] },
  { id: "linus", name: "Linus (tech support)", capabilities: ["voice", "chat", "tech-support"] },
];

const ERRORS = [
  "speech-to-text provider timed out (HTTP 504)",
  "LLM rate limit reached (429); backing off",
  "CRM lookup failed: connection reset by peer",
  "audio stream stalled for 8 s",
];

const REPLIES = [
  "Thanks for reaching out! I've checked your account and everything looks in order now. Is there anything else I can help with?",
  "Good question. Your order left our warehouse this morning and should arrive within two business days.",
  "I'm sorry about the trouble. I've reset the setting on our side, so please try again and let me know how it goes.",
  "Sure, I can help with that. I've sent a confirmation to the email on file.",
];

const between = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)];

interface LiveOptions {
  wait: (seconds: number, s?: AbortSignal) => Promise<void>;
  graceMs: number;
  speed: number;
  signal: AbortSignal;
}

class Agent {
  connected = false;
  #error: string | null = null;
  /** What it works on, most important first: a call, a reply to a real message, a simulated chat. */
  #call: string | null = null;
  #reply: string | null = null;
  #chat: string | null = null;
  #tasksDone = 0;
  #reported = "";
  #seq = 0;
  #queue: Promise<void> = Promise.resolve();
  /** The last command handled: where a reconnect resumes. */
  #lastCommand: number | undefined;

  constructor(
    readonly profile: Profile,
    readonly client: SwitchboardClient,
    readonly run: string,
    readonly log: (line: string) => void,
  ) {}

  get id() {
    return this.profile.id;
  }

  onCall(callId: string | null): void {
    if (callId === null && this.#call !== null) this.#tasksDone++;
    this.#call = callId;
    this.report();
  }

  get call() {
    return this.#call;
  }

  /** Publishes the status it is in now, if it changed and the agent is online; in order, never concurrently. */
  report(force = false): void {
    if (!this.connected) return;
    const execution = this.#call ?? this.#reply ?? this.#chat;
    const status = this.#error ? "error" : execution ? "busy" : "available";
    const signature = `${status}|${execution}|${this.#error}`;
    if (!force && signature === this.#reported) return;
    this.#reported = signature;
    const busy = status === "busy";
    const data: Record<string, unknown> = {
      status,
      name: this.profile.name,
      capabilities: this.profile.capabilities,
      metrics: { tasks_done: this.#tasksDone, load: Number((busy ? between(0.55, 0.95) : between(0.05, 0.3)).toFixed(2)) },
    };
    if (busy) data.execution_id = execution;
    if (this.#error) data.error = this.#error;
    const key = `agents:${this.run}:${this.id}:${++this.#seq}`;
    this.#queue = this.#queue
      .then(() => this.client.publish({ type: "agent.status", subject: this.id, data, key }))
      .then(
        () => {},
        (err: Error) => this.log(`${this.id}: status not published: ${err.message}`),
      );
  }

  /** Holds the command stream, works, and drops now and then, until the signal. */
  async live({ wait, graceMs, speed, signal }: LiveOptions): Promise<void> {
    // Staggered, so the three do not move in lockstep.
    await wait(between(0, 2));
    while (!signal.aborted) {
      const connection = new AbortController();
      const stop = () => connection.abort();
      signal.addEventListener("abort", stop, { once: true });
      const holding = this.client
        .holdCommands(this.id, (command) => this.#handle(command, wait, signal), { signal: connection.signal, lastEventId: this.#lastCommand })
        .catch((err: Error) => this.log(`${this.id}: command stream failed: ${err.message}`));
      this.connected = true;
      this.report(true);
      const working = this.#work(wait, connection.signal);
      // Online for a while, then a drop.
      await wait(between(40, 120), connection.signal);
      // Offline from here: what changes meanwhile is reported on the reconnect.
      this.connected = false;
      connection.abort();
      signal.removeEventListener("abort", stop);
      // The stream ends once a command in hand is answered, so the reconnect resumes after it.
      await Promise.all([holding, working]);
      if (signal.aborted) break;
      const long = Math.random() < 0.4;
      // A long drop outlasts the server's grace period in real time, whatever the speed.
      const ms = long ? graceMs + between(2000, 6000) / speed : between(500, 3000) / speed;
      this.log(`${this.id}: dropping its command stream for ${(ms / 1000).toFixed(1)} s${long ? " (longer than the presence grace period: it will show disconnected)" : ""}`);
      await sleep(ms, signal);
      if (!signal.aborted) this.log(`${this.id}: reconnecting${this.#lastCommand !== undefined ? ` after command ${this.#lastCommand}` : ""}`);
    }
    await this.#queue;
  }

  /** Between calls: simulated chat sessions, and a rare error. Ends with its connection. */
  async #work(wait: LiveOptions["wait"], signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await wait(between(4, 12), signal);
      if (signal.aborted) break;
      const r = Math.random();
      if (r < 0.03) {
        this.#error = pick(ERRORS);
        this.log(`${this.id}: error: ${this.#error}`);
        this.report();
        await wait(between(5, 12), signal);
        this.#error = null;
        this.report();
      } else if (r < 0.5 && !this.#call && !this.#chat) {
        this.#chat = `chat-${randomBytes(3).toString("hex")}`;
        this.report();
        await wait(between(10, 40), signal);
        this.#chat = null;
        this.#tasksDone++;
        this.report();
      }
    }
    this.#chat = null;
    this.#error = null;
  }

  /** A user's chat message sent to this agent: busy with the session while it streams a short answer. */
  async #handle(command: Command, wait: LiveOptions["wait"], signal: AbortSignal): Promise<void> {
    try {
      if (command.type !== "chat.message" || !command.subject) return;
      const session = command.subject;
      const replyTo = String(command.data.message_id ?? "");
      if (!replyTo) return;
      this.#reply = session;
      this.report();
      const messageId = `${this.id}-reply-${command.id}`;
      const words = pick(REPLIES).split(" ");
      const key = (part: string) => `agents:${this.id}:reply:${command.id}:${part}`;
      await wait(between(0.5, 1.5));
      for (let seq = 0; seq < words.length; seq++) {
        const text = (seq === 0 ? "" : " ") + words[seq];
        // Each piece names the message it answers, so whichever lands first creates the reply.
        await this.client.publish({ type: "chat.delta", subject: session, data: { message_id: messageId, seq, text, reply_to: replyTo }, key: key(String(seq)) });
        await wait(between(0.05, 0.2));
        if (signal.aborted) break;
      }
      await this.client.publish({ type: "chat.completed", subject: session, data: { message_id: messageId, reply_to: replyTo }, key: key("done") });
      this.#tasksDone++;
      this.log(`${this.id}: answered a message in session ${session}`);
    } catch (err) {
      this.log(`${this.id}: could not answer command ${command.id}: ${(err as Error).message}`);
    } finally {
      this.#lastCommand = command.id;
      if (this.#reply !== null) {
        this.#reply = null;
        this.report();
      }
    }
  }
}

/**
 * Follows the tenant's calls: the current ones from `GET /calls`, then
 * `call.started` / `call.ended` from the stream after that state's head
 * (so nothing is missed or seen twice), reconnecting with Last-Event-ID.
 */
async function followCalls(client: SwitchboardClient, agents: Map<string, Agent>, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  const { url, tenant, key } = client.options;
  let after: number | null = null;
  let delay = 250;
  while (!signal.aborted) {
    try {
      if (after === null) {
        const state = (await client.get("/calls")) as { head: number; active?: { callId?: string; call_id?: string; agent?: string | null }[] };
        for (const call of state.active ?? []) {
          const agent = call.agent ? agents.get(call.agent) : undefined;
          const id = call.callId ?? call.call_id;
          if (agent && id) agent.onCall(id);
        }
        after = state.head;
      }
      const res: Response = await fetch(`${url.replace(/\/$/, "")}/api/v1/tenants/${encodeURIComponent(tenant)}/stream?types=call.started,call.ended`, {
        headers: { authorization: `Bearer ${key}`, accept: "text/event-stream", "last-event-id": String(after) },
        signal,
      });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      delay = 250;
      const frames: AsyncGenerator<{ id?: string; event?: string; data: string }> = sseFrames(res.body);
      for await (const frame of frames) {
        if (frame.id === undefined) continue;
        if (frame.event === "reset") {
          // Events were pruned or the server is another one: read the state again.
          after = null;
          break;
        }
        after = Number(frame.id);
        const event = JSON.parse(frame.data) as { type: string; subject: string; data: { agent?: string } };
        if (event.type === "call.started") {
          const agent = event.data.agent ? agents.get(event.data.agent) : undefined;
          agent?.onCall(event.subject);
        } else if (event.type === "call.ended") {
          for (const agent of agents.values()) if (agent.call === event.subject) agent.onCall(null);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      log(`call stream: ${(err as Error).message}; reconnecting in ${delay} ms`);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 5000);
  }
}

runProducer("agents", async (client, flags, signal) => {
  const speed = Number(flags.speed ?? 1);
  if (!(speed > 0)) throw new Error(`--speed must be a positive number, not "${flags.speed}"`);
  const graceMs = Number(flags["grace-ms"] ?? process.env.PRESENCE_GRACE_MS ?? 10_000);
  if (!(graceMs >= 0)) throw new Error(`--grace-ms must be a number of milliseconds, not "${flags["grace-ms"]}"`);
  const wait = (seconds: number, s: AbortSignal = signal) => sleep((seconds * 1000) / speed, s);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  /** Keys must be unique across runs too: the server remembers them for as long as it keeps the events. */
  const run = randomBytes(4).toString("hex");

  const agents = new Map(PROFILES.map((p) => [p.id, new Agent(p, client, run, log)]));
  log(`agents ${[...agents.keys()].join(", ")} starting at speed ${speed} (presence grace ${graceMs} ms)`);

  await Promise.all([
    followCalls(client, agents, signal, log),
    ...[...agents.values()].map((agent) => agent.live({ wait, graceMs, speed, signal })),
  ]);
});
