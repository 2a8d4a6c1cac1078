import { seeded } from "./random.js";

/**
 * A seeded run of what a console shows: calls starting, ending and being
 * analyzed, agents changing status (names repeat, so order ties are
 * broken), workflows starting, reporting progress, finishing and failing,
 * channels connecting step by step, chat sessions opening and getting
 * messages. Each call of `next` is a batch of valid events for the run so
 * far; workflows work for runner-1 or runner-2.
 */
export class ConsoleRun {
  readonly #random: () => number;
  readonly #active = new Set<string>();
  readonly #ended: string[] = [];
  readonly #running = new Set<string>();
  readonly #connecting = new Set<string>();
  readonly #sessions: string[] = [];
  #n = 0;

  constructor(readonly seed: number) {
    this.#random = seeded(seed);
  }

  /** One to four events. */
  next(): object[] {
    return Array.from({ length: 1 + Math.floor(this.#random() * 4) }, () => this.#event());
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#random() * xs.length)];
  }

  #event(): object {
    const r = this.#random();
    const id = `${this.#n++}`;
    if (r < 0.14) {
      this.#active.add(`c${id}`);
      return { type: "call.started", subject: `c${id}`, data: { direction: this.#pick(["inbound", "outbound"]), number: `+1415555${1000 + this.#n}`, agent: this.#pick(["ada", "grace"]) } };
    }
    if (r < 0.24 && this.#active.size > 0) {
      const call = this.#pick([...this.#active]);
      this.#active.delete(call);
      this.#ended.push(call);
      return { type: "call.ended", subject: call, data: { duration_ms: Math.floor(this.#random() * 300_000), status: this.#pick(["completed", "no-answer", "busy"]) } };
    }
    if (r < 0.28 && this.#ended.length > 0) return { type: "call.analyzed", subject: this.#pick(this.#ended), data: { summary: `summary ${id}`, sentiment: this.#pick(["positive", "neutral"]) } };
    if (r < 0.4) {
      const agent = `a${Math.floor(this.#random() * 8)}`;
      return { type: "agent.status", subject: agent, data: { status: this.#pick(["available", "busy", "error"]), name: this.#pick(["Ada", "Grace", "Linus", "Ada"]) } };
    }
    if (r < 0.48) {
      this.#running.add(`w${id}`);
      return { type: "workflow.started", subject: `w${id}`, data: { name: `Job ${id}`, stages: ["a", "b", "c"], worker: this.#pick(["runner-1", "runner-2"]), stage: "a" } };
    }
    if (r < 0.62 && this.#running.size > 0) {
      return { type: "workflow.progress", subject: this.#pick([...this.#running]), data: { progress: Math.round(this.#random() * 100) / 100, stage: this.#pick(["a", "b", "c"]) } };
    }
    if (r < 0.66 && this.#running.size > 0) {
      const wf = this.#pick([...this.#running]);
      this.#running.delete(wf);
      return this.#random() < 0.5 ? { type: "workflow.completed", subject: wf } : { type: "workflow.failed", subject: wf, data: { reason: `step ${id} broke`, retryable: this.#random() < 0.5 } };
    }
    if (r < 0.72) {
      this.#connecting.add(`ch${id}`);
      return { type: "channel.connect_requested", subject: `ch${id}`, data: { platform: this.#pick(["sms", "slack"]), name: `Line ${id}`, kind: "channels" } };
    }
    if (r < 0.78 && this.#connecting.size > 0) {
      const channel = this.#pick([...this.#connecting]);
      if (this.#random() < 0.6) return { type: "channel.progress", subject: channel, data: { step: 1, total: 2, label: "Checking" } };
      this.#connecting.delete(channel);
      return this.#random() < 0.5 ? { type: "channel.connected", subject: channel } : { type: "channel.failed", subject: channel, data: { reason: "token refused" } };
    }
    if (r < 0.86 || this.#sessions.length === 0) {
      this.#sessions.push(`s${id}`);
      return { type: "chat.session_started", subject: `s${id}`, data: { agent: "helper", ...(this.#random() < 0.5 && { title: `Question ${id}` }) } };
    }
    return { type: "chat.message", subject: this.#pick(this.#sessions), data: { message_id: `m${id}`, text: `hello ${id}`, worker: "helper" } };
  }
}
