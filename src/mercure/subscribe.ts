import { randomUUID } from "node:crypto";
import type { Context } from "hono";
import type { StoredEvent } from "../event.js";
import type { Selector } from "../hub/hub.js";
import { addressGroup, clientAddress } from "../http/client-address.js";
import { ApiError } from "../http/errors.js";
import { openStream, type StreamDeps } from "../http/stream-routes.js";
import { nextTurn } from "../next-turn.js";
import type { EventLog } from "../store/event-log.js";
import type { TurnBudget } from "../turn-budget.js";
import type { AddressCaps } from "./address-caps.js";
import type { MercureClient, MercureConfig } from "./client.js";
import { matcherCache } from "./matcher-cache.js";
import { SelectorError, TopicMatcherSet, type MatcherType, type TopicMatcher } from "./selectors.js";
import { subscriptionEvent, type Subscription } from "./subscription-events.js";
import { MERCURE_TYPES, mercureFrame, updateOf } from "./update.js";

/** Topic selectors one subscription request may hold. */
export const MAX_SELECTORS = 32;

/** The 1.0 draft's matcher parameters, by name; `match` is the default exact matcher. */
const MATCH_PARAMS: Record<string, MatcherType> = { match: "exact", match_exact: "exact", match_urlpattern: "urlpattern" };
const RESERVED_MATCH = /^match/i;

/** Which draft a request speaks: 1.0 when it uses `match…` parameters, 0.x when it uses `topic`. */
export type Draft = "0.x" | "1.0";

/**
 * The topic selectors of a subscription request: 0.x `topic=` selectors
 * (exact, `*` or URI templates), or 1.0 `match=` / `match_<type>=`
 * matchers; a request holds one kind or the other. An unknown `match…`
 * name, a value the matcher type refuses, or too many are a 400.
 *
 * A long URL pattern or template takes up to a couple of milliseconds to
 * compile: the selectors of one request are compiled within the loop's
 * turn budget, handing the loop back between them when it is spent, and
 * kept for the next request that names them (MatcherCache).
 */
export async function readSelectors(url: URL, hubUrl: URL, turn: TurnBudget): Promise<{ draft: Draft; matchers: TopicMatcher[] }> {
  const matchers: TopicMatcher[] = [];
  let draft: Draft | null = null;
  for (const [name, value] of url.searchParams) {
    let type: MatcherType;
    if (name === "topic") {
      if (draft === "1.0") throw mixed();
      draft = "0.x";
      type = "selector";
    } else if (RESERVED_MATCH.test(name)) {
      if (!(name in MATCH_PARAMS)) throw new ApiError(400, "invalid_selector", `"${name.slice(0, 60)}" is not a matcher this hub knows: use match (exact), match_exact or match_urlpattern`);
      if (draft === "0.x") throw mixed();
      draft = "1.0";
      type = MATCH_PARAMS[name];
    } else continue;
    if (matchers.length === MAX_SELECTORS) throw new ApiError(400, "too_many_selectors", `a subscription holds at most ${MAX_SELECTORS} topic selectors`);
    try {
      matchers.push(await matcherCache.compile(type, value, hubUrl, turn));
    } catch (err) {
      if (err instanceof SelectorError) throw new ApiError(400, "invalid_selector", err.message);
      throw err;
    }
  }
  if (draft === null) throw new ApiError(400, "no_selector", "subscribe with at least one topic selector: topic=<selector> (Mercure 0.x) or match=<topic> (1.0)");
  return { draft, matchers };
}

const mixed = () => new ApiError(400, "invalid_selector", "use topic= selectors (Mercure 0.x) or match= matchers (1.0) in one request, not both");

export interface SubscribeDeps extends StreamDeps {
  log: EventLog;
  /** Each tenant's settings: whether it publishes subscription events. */
  mercure: MercureConfig;
  /** This node's id in its subscription events ("local" on a single host): who holds the subscription. */
  node: string;
  /** Anonymous streams per address group (MERCURE_ANONYMOUS_STREAMS_PER_ADDRESS). */
  anonymousCaps: AddressCaps;
  trustProxy: number;
}

/**
 * A Mercure subscription: an SSE stream of the tenant's updates whose
 * topics match one of its selectors, private ones only where the client
 * may receive them, live and on replay alike. It resumes after the update
 * its Last-Event-ID names (header, then `lastEventID` or `last_event_id`);
 * an id the log no longer holds, or never held, replays everything still
 * retained, and says so with `earliest` in the response's Last-Event-ID
 * (0.x) or Mercure-Last-Event-ID (1.0) header.
 */
export async function subscribeUpdates(c: Context, deps: SubscribeDeps, tenant: string, client: MercureClient, hubUrl: URL, extraHeaders: Record<string, string>): Promise<Response> {
  const url = new URL(c.req.url);
  const { draft, matchers } = await readSelectors(url, hubUrl, deps.hub.turn);
  const requested = c.req.header("last-event-id") ?? url.searchParams.get("lastEventID") ?? url.searchParams.get("last_event_id");
  const headers = { ...extraHeaders };
  let position: number | null = null;
  if (requested !== null && requested !== undefined) {
    const found = requested === "earliest" ? null : await positionOf(deps.log, tenant, requested);
    position = found ?? 0;
    headers[draft === "0.x" ? "Last-Event-ID" : "Mercure-Last-Event-ID"] = found === null ? "earliest" : requested;
  }
  const selects = new TopicMatcherSet(matchers);
  const selector: Selector = {
    tenant,
    // Streams with the same selectors and the same right to private updates match the same events.
    key: `mercure|${client.scope}|${matchers.map((m) => `${m.type}:${m.source}`).sort().join("\u0000")}`,
    match: (e: StoredEvent) => {
      const update = updateOf(e);
      return update !== null && selects.matchesAny(update.topics) && (!update.private || client.mayReceive(update.topics));
    },
    encode: mercureFrame,
    narrow: { types: MERCURE_TYPES, subject: null },
  };
  const grant = { keyId: client.key?.id ?? null, tenants: [tenant], session: null };
  const closing: (() => void)[] = [];
  if (client.key === null && client.grant === null) {
    const group = addressGroup(clientAddress(c, deps.trustProxy));
    if (!deps.anonymousCaps.take(group)) {
      throw new ApiError(429, "too_many_streams", `this address holds ${deps.anonymousCaps.max} anonymous streams already, the most allowed (MERCURE_ANONYMOUS_STREAMS_PER_ADDRESS)`, undefined, { "Retry-After": "10" });
    }
    closing.push(() => deps.anonymousCaps.release(group));
  }
  const onClose = () => {
    for (const close of closing.splice(0)) close();
  };
  try {
    const response = await openStream(c, deps, selector, position, { headers, grant, until: client.expiresAt, resetFrames: false, onClose });
    if (deps.mercure.settings(tenant).subscriptions) {
      const subscriber = `urn:uuid:${randomUUID()}`;
      const subscriptions = matchers.map((matcher): Subscription => ({ draft, hubPath: hubUrl.pathname, matcher, subscriber, payload: client.payloadFor(matcher) }));
      closing.push(announce(deps, tenant, subscriptions));
    }
    return response;
  } catch (err) {
    // Refused before the stream opened (the tenant's stream cap): it holds no place.
    onClose();
    throw err;
  }
}

/**
 * Appends the subscriptions' start now, and returns what appends their
 * end, after the start (a stream that closes at once still announces both,
 * in order). Nothing waits for either: a subscriber's stream never waits
 * for a commit, and an append that fails is logged.
 */
function announce(deps: SubscribeDeps, tenant: string, subscriptions: Subscription[]): () => void {
  const append = (active: boolean) =>
    deps.log.append(tenant, subscriptions.map((s) => subscriptionEvent(s, active, `urn:uuid:${randomUUID()}`, deps.node))).then(
      () => undefined,
      (err: Error) => deps.logger.warn("Mercure subscription event not appended", { tenant, active, error: err.message }),
    );
  const started = append(true);
  return () => void started.then(() => append(false));
}

/**
 * The log position of the first update with this id (a publisher may reuse
 * one: the earliest counts, as the 1.0 draft says), read through the
 * subject index; null when no retained update has it.
 */
async function positionOf(log: EventLog, tenant: string, id: string): Promise<number | null> {
  if (id.length === 0 || id.length > 200) return null;
  const head = log.head();
  let after = 0;
  for (;;) {
    const page = await log.read({ tenant, after, limit: 1, types: MERCURE_TYPES, subject: id });
    if (page.events.length > 0) return page.events[0].id;
    // A read may stop short of the head having examined as many rows as one read may: go on from there.
    if (page.through >= head || page.through <= after) return null;
    after = page.through;
    await nextTurn();
  }
}
