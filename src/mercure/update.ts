import { z } from "zod";
import type { StoredEvent } from "../event.js";
import type { Domain } from "../domain/domain.js";

/**
 * A Mercure update is an event of the log like any other: durable,
 * replayable, retained by the same rules, visible to Switchboard's own
 * streams and history. Its type is reserved; its subject is the update's
 * id (the publisher's, kept verbatim, or a `urn:uuid:` the hub made), so a
 * Mercure client's Last-Event-ID is found through the subject index; its
 * data holds the rest. The log position stays the integer id.
 */
export const MERCURE_UPDATE = "mercure.update";
/** A subscription starting or ending (see subscription-events.ts): an update only the hub appends. */
export const MERCURE_SUBSCRIPTION = "mercure.subscription";
/** Every type a Mercure stream reads. */
export const MERCURE_TYPES: readonly string[] = [MERCURE_UPDATE, MERCURE_SUBSCRIPTION];

/** Topics one update may carry (its canonical topic and alternates). */
export const MAX_TOPICS = 32;
/** The longest topic, in characters. */
export const MAX_TOPIC_LENGTH = 2048;
/** The longest update id: it is the event's subject. */
export const MAX_ID_LENGTH = 200;
/** The longest SSE event type. */
export const MAX_TYPE_LENGTH = 200;

export interface MercureUpdate {
  /** The canonical topic first, then the alternates. */
  topics: string[];
  data?: string;
  /** Only subscribers allowed one of the topics receive it. */
  private?: boolean;
  /** The SSE `event:` field. */
  type?: string;
  /** The SSE `retry:` field, ms. */
  retry?: number;
  /** A subscription event's: the node whose stream holds the subscription (never sent to subscribers). */
  node?: string;
}

/**
 * The data of a `mercure.update` event. The Mercure endpoint checks the
 * protocol's rules on each field before it builds one; this schema holds
 * whoever else publishes the type (the events API with a publish key) to
 * the same shape, so every stream can frame what the log holds.
 */
const updateSchema = z.strictObject({
  topics: z.array(z.string().min(1).max(MAX_TOPIC_LENGTH)).min(1, "an update needs at least one topic").max(MAX_TOPICS, `an update has at most ${MAX_TOPICS} topics`),
  data: z.string().optional(),
  private: z.boolean().optional(),
  type: z
    .string()
    .min(1)
    .max(MAX_TYPE_LENGTH)
    .refine((t) => !/[\u0000-\u001f\u007f-\u009f]/.test(t), "type must not contain control characters")
    .optional(),
  retry: z.number().int().min(0).max(2 ** 31 - 1).optional(),
});

/** The domain that reserves the `mercure` topic: one type, validated; its topics are summed up by src/domain/mercure/projection.ts. */
export const mercureDomain: Domain = {
  name: "mercure",
  topics: ["mercure"],
  types: {
    [MERCURE_UPDATE]: { schema: updateSchema, subject: "required" },
    [MERCURE_SUBSCRIPTION]: { schema: updateSchema, subject: "required", internal: true },
  },
};

/**
 * The update an event holds, parsed once per event: every stream group
 * reading the same published event (the hub hands each group the same
 * object) shares it.
 */
const parsed = new WeakMap<StoredEvent, MercureUpdate>();

export function updateOf(e: StoredEvent): MercureUpdate | null {
  if (e.type !== MERCURE_UPDATE && e.type !== MERCURE_SUBSCRIPTION) return null;
  let update = parsed.get(e);
  if (!update) {
    update = JSON.parse(e.data) as MercureUpdate;
    parsed.set(e, update);
  }
  return update;
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * The SSE frame a Mercure subscriber gets: the update's own id, `event:`
 * only when the publisher gave a type, `retry:` when it gave one, and the
 * data as one `data:` line per line (so a line break in the data can never
 * start a field of its own). A pure function of the event, so every
 * Mercure stream shares each event's frame.
 */
export function mercureFrame(e: StoredEvent): string | null {
  const update = updateOf(e);
  if (!update) return null;
  let out = `id: ${e.subject}\n`;
  if (update.type !== undefined) out += `event: ${update.type}\n`;
  if (update.retry !== undefined) out += `retry: ${update.retry}\n`;
  for (const line of (update.data ?? "").split(LINE_BREAK)) out += `data: ${line}\n`;
  return out + "\n";
}
