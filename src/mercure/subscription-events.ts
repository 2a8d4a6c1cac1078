import type { NewEvent } from "../event.js";
import type { Draft } from "./subscribe.js";
import type { TopicMatcher } from "./selectors.js";
import { MERCURE_SUBSCRIPTION, type MercureUpdate } from "./update.js";

/**
 * Subscription events: where a tenant turns them on, the hub publishes a
 * private update each time a subscription (one selector of a stream)
 * starts or ends, in the shape of the draft the subscriber spoke:
 *
 * - 0.x: topic `{hub}/subscriptions/{topic}/{subscriber}`, a JSON-LD
 *   document of type `Subscription` with `topic`;
 * - 1.0: topic `{hub}/subscriptions/{match_type}/{match}/{subscriber}`, a
 *   JSON document of type `subscription` with `match_type` and `match`,
 *   sent with the SSE event type `mercure`.
 *
 * They are events of the log (type mercure.subscription, which only the hub
 * appends), so they replay like any update, and the subscriptions API is
 * read from what they left.
 */
export interface Subscription {
  draft: Draft;
  /** The hub's path: its subscription topics are under `{hubPath}/subscriptions/`. */
  hubPath: string;
  matcher: TopicMatcher;
  subscriber: string;
  payload?: unknown;
}

/** RFC 6570 simple expansion of one variable: everything but unreserved characters percent-encoded, once. */
export function expandVariable(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The topic of a subscription's events, which is also its id and its path in the subscriptions API. */
export function subscriptionTopic(s: Subscription): string {
  const base = `${s.hubPath}/subscriptions/`;
  return s.draft === "0.x"
    ? `${base}${expandVariable(s.matcher.source)}/${expandVariable(s.subscriber)}`
    : `${base}${s.matcher.type === "urlpattern" ? "urlpattern" : "exact"}/${expandVariable(s.matcher.source)}/${expandVariable(s.subscriber)}`;
}

/** The document describing a subscription, as its events and the subscriptions API carry it. */
export function subscriptionDocument(s: Subscription, active: boolean): Record<string, unknown> {
  const id = subscriptionTopic(s);
  const doc: Record<string, unknown> =
    s.draft === "0.x"
      ? { "@context": "https://mercure.rocks/", id, type: "Subscription", topic: s.matcher.source, subscriber: s.subscriber, active }
      : { id, type: "subscription", match_type: s.matcher.type === "urlpattern" ? "urlpattern" : "exact", match: s.matcher.source, subscriber: s.subscriber, active };
  if (s.payload !== undefined) doc.payload = s.payload;
  return doc;
}

/** The event of the log that announces a subscription starting (`active`) or ending, held by a stream on `node`. */
export function subscriptionEvent(s: Subscription, active: boolean, id: string, node: string): NewEvent {
  return documentEvent(subscriptionTopic(s), subscriptionDocument(s, active), s.draft, id, node);
}

/** The event that carries a subscription's document (`type: "subscription"` is 1.0's: its events go as SSE type `mercure`). */
export function documentEvent(topic: string, document: Record<string, unknown>, draft: Draft, id: string, node: string): NewEvent {
  const update: MercureUpdate = { topics: [topic], data: JSON.stringify(document), private: true, node };
  if (draft === "1.0") update.type = "mercure";
  return { type: MERCURE_SUBSCRIPTION, subject: id, data: JSON.stringify(update), key: null };
}
