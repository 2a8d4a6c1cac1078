import type { StoredEvent } from "../event.js";
import { zodReason, type Data, type Domain, type TypeSpec } from "./domain.js";

export type Normalized = { ok: true; data: Data } | { ok: false; reason: string };

/**
 * Every domain, by topic. Types in a reserved topic are validated strictly
 * against their domain's schema; every other type is a generic event and
 * passes through as it is.
 */
export class Domains {
  readonly #byTopic = new Map<string, Domain>();
  readonly #specs = new Map<string, TypeSpec>();

  /**
   * @param workerEvents the worker event types (from the projections, which
   * know whom each speaks for): publishing one needs the work scope.
   */
  constructor(
    readonly list: readonly Domain[],
    private readonly workerEvents: ReadonlySet<string> = new Set(),
  ) {
    for (const d of list) {
      for (const topic of d.topics) this.#byTopic.set(topic, d);
      for (const [type, spec] of Object.entries(d.types)) this.#specs.set(type, spec);
    }
  }

  /** Validates a producer's event of a domain type; generic types are returned unchanged. */
  normalize = (type: string, subject: string | null, data: Data): Normalized => {
    const topic = topicOf(type);
    const domain = this.#byTopic.get(topic);
    if (!domain) return { ok: true, data };
    const spec = this.#specs.get(type);
    if (!spec) {
      const known = Object.keys(domain.types).filter((t) => topicOf(t) === topic && !domain.types[t].internal);
      return { ok: false, reason: `"${type}" is not a ${topic} event; the ${topic} topic has ${known.join(", ")}` };
    }
    if (spec.internal) return { ok: false, reason: `${type} is appended by Switchboard itself, not published` };
    if (spec.subject === "required" && subject === null) return { ok: false, reason: `${type} needs a subject (the entity's id)` };
    const parsed = spec.schema.safeParse(data);
    if (!parsed.success) return { ok: false, reason: zodReason(parsed.error) };
    if (spec.command && !parsed.data.worker && !parsed.data.kind) {
      return { ok: false, reason: `${type} is a command: data needs "worker" or "kind" to say who receives it` };
    }
    return { ok: true, data: parsed.data };
  };

  /** Every command type, e.g. to read only commands from the log. */
  commandTypes(): string[] {
    return [...this.#specs].filter(([, spec]) => spec.command).map(([type]) => type);
  }

  isCommand(type: string): boolean {
    return this.#specs.get(type)?.command === true;
  }

  /** Whether publishing this type takes the control scope: a command, or an operator's action. */
  needsControl(type: string): boolean {
    const spec = this.#specs.get(type);
    return spec?.command === true || spec?.control === true;
  }

  /** Whether a worker publishes this type about its own work (an answer to a command, a report). */
  isWorkerEvent(type: string): boolean {
    return this.workerEvents.has(type);
  }

  /** After each commit: lets domains set deadlines for what was committed. */
  onCommit = (events: readonly StoredEvent[]): void => {
    for (const e of events) this.#byTopic.get(topicOf(e.type))?.onCommit?.(e);
  };

  start(): void {
    for (const d of this.list) d.start?.();
  }

  stop(): void {
    for (const d of this.list) d.stop?.();
  }
}

export const topicOf = (type: string): string => {
  const dot = type.indexOf(".");
  return dot === -1 ? type : type.slice(0, dot);
};
