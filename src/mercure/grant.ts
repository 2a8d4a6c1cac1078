import type { TurnBudget } from "../turn-budget.js";
import { matcherCache } from "./matcher-cache.js";
import { SelectorError, TopicMatcherSet, type MatcherType, type TopicMatcher } from "./selectors.js";

export type MercureProtocol = "0.x" | "1.0";

/** What a verified token allows. */
export interface MercureGrant {
  /** Which claim shape the token used. */
  readonly protocol: MercureProtocol;
  /** The token's `sub`, when it has one. */
  readonly subject: string | null;
  /** From `exp`, in ms since the epoch: a stream opened with the token is closed then. Null: no `exp` (0.x only). */
  readonly expiresAt: number | null;
  /** 0.x: a `mercure.publish` selector matches the topic; 1.0: a detail with the publish action has a matcher for it. */
  canPublish(topic: string): boolean;
  /** The same for subscribe (a private update goes to a subscriber allowed any one of its topics). */
  canSubscribe(topic: string): boolean;
  /**
   * The payload to attach to a subscription. 0.x: `mercure.payload`, whatever
   * the subscription. 1.0: the payload of the first subscribe detail one of
   * whose matchers matches the subscription's own matcher string taken as a
   * topic ("Payloads"; the subscription's matcher type plays no part there).
   * Undefined when there is none.
   */
  payloadFor(matcherType: MatcherType, matcher: string): unknown;
  /**
   * What the grant lets its holder receive, as one text: two grants with the
   * same scope receive the same private updates, so their streams with the
   * same selectors can share a group (one match per event for all of them).
   */
  readonly subscribeScope: string;
}

/** The authorization detail type of Mercure 1.0, compared byte by byte. */
export const MERCURE_DETAIL_TYPE = "https://mercure.rocks/authorization-detail";

/**
 * Bounds on what one token may ask the hub to compile and match: every
 * grant check walks these lists. Past any of them the token is invalid
 * (1.0 "Authorization Details"; 0.x sets none, the same bounds serve it).
 */
export const GRANT_LIMITS = {
  /** Entries of `authorization_details`, Mercure's or not. */
  details: 16,
  /** Matchers in one detail's `topics`. */
  topicsPerDetail: 64,
  /** Matchers (1.0) or selectors (0.x) in the whole token. */
  matchers: 256,
  /** Characters of one matcher or selector. */
  matcherLength: 2048,
} as const;

/** Why a token's claims cannot be a grant; verifyToken turns it into invalid_token. */
export class GrantError extends Error {}

interface Claims {
  sub?: unknown;
  exp?: unknown;
  mercure?: unknown;
  authorization_details?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const anyMatches = (matchers: readonly TopicMatcher[], topic: string) => matchers.some((m) => m.matches(topic));
const scopeOf = (matchers: readonly TopicMatcher[]) => [...new Set(matchers.map((m) => `${m.type}:${m.source}`))].sort().join("\u0000");

/** Where a grant's matchers are compiled: against which hub, within which turn budget (see MatcherCache). */
export interface GrantContext {
  hubUrl: URL;
  turn: TurnBudget;
}

/** Compiles one matcher within the token's bounds; `count` is the matchers compiled so far. */
async function compile(type: MatcherType, source: string, ctx: GrantContext, count: number, what: string): Promise<TopicMatcher> {
  if (count >= GRANT_LIMITS.matchers) throw new GrantError(`more than ${GRANT_LIMITS.matchers} topic matchers`);
  if (source.length === 0) throw new GrantError(`${what} is empty`);
  if (source.length > GRANT_LIMITS.matcherLength) throw new GrantError(`${what} is longer than ${GRANT_LIMITS.matcherLength} characters`);
  try {
    return await matcherCache.compile(type, source, ctx.hubUrl, ctx.turn);
  } catch (err) {
    if (err instanceof SelectorError) throw new GrantError(`${what} is not a valid ${type} matcher: ${err.message}`);
    throw err;
  }
}

function base(protocol: MercureProtocol, claims: Claims): Pick<MercureGrant, "protocol" | "subject" | "expiresAt"> {
  return {
    protocol,
    subject: typeof claims.sub === "string" ? claims.sub : null,
    expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 : null,
  };
}

/**
 * A 0.x grant, from the `mercure` claim: `publish` and `subscribe` arrays of
 * topic selectors and a `payload`. A token without the claim (any signed
 * JWT is a 0.x token) grants nothing. A claim of the wrong shape makes the
 * token invalid rather than quietly granting less.
 */
export async function grant0x(claims: Claims, ctx: GrantContext): Promise<MercureGrant> {
  const mercure = claims.mercure ?? {};
  if (!isObject(mercure)) throw new GrantError("the mercure claim must be an object");
  let count = 0;
  const selectors = async (name: "publish" | "subscribe"): Promise<TopicMatcher[]> => {
    const list: unknown = mercure[name] ?? [];
    if (!Array.isArray(list)) throw new GrantError(`mercure.${name} must be an array of topic selectors`);
    const matchers: TopicMatcher[] = [];
    for (const [i, s] of list.entries()) {
      if (typeof s !== "string") throw new GrantError(`mercure.${name}[${i}] must be a string`);
      matchers.push(await compile("selector", s, ctx, count++, `mercure.${name}[${i}]`));
    }
    return matchers;
  };
  const publish = await selectors("publish");
  const subscribe = await selectors("subscribe");
  const publishing = new TopicMatcherSet(publish);
  const subscribing = new TopicMatcherSet(subscribe);
  const payload = mercure.payload ?? undefined;
  return {
    ...base("0.x", claims),
    canPublish: (topic) => publishing.matches(topic),
    canSubscribe: (topic) => subscribing.matches(topic),
    payloadFor: () => payload,
    subscribeScope: scopeOf(subscribe),
  };
}

interface Detail {
  actions: ReadonlySet<string>;
  matchers: TopicMatcher[];
  payload: unknown;
}

/**
 * A 1.0 grant, from `authorization_details`. Every Mercure detail is
 * validated before any is used: one malformed detail (or one past the
 * limits) makes the whole token invalid, as partial acceptance would change
 * what it grants. Details of other types are left alone; unknown actions
 * grant nothing.
 */
export async function grant10(claims: Claims, ctx: GrantContext): Promise<MercureGrant> {
  const entries = claims.authorization_details ?? [];
  if (!Array.isArray(entries)) throw new GrantError("authorization_details must be an array");
  if (entries.length > GRANT_LIMITS.details) throw new GrantError(`more than ${GRANT_LIMITS.details} authorization details`);
  let count = 0;
  const details: Detail[] = [];
  for (const [i, entry] of entries.entries()) {
    const at = `authorization_details[${i}]`;
    // RFC 9396: every entry is an object with a string type, whoever defined it.
    if (!isObject(entry) || typeof entry.type !== "string") throw new GrantError(`${at} must be an object with a string type`);
    if (entry.type !== MERCURE_DETAIL_TYPE) continue;
    const { actions, topics, payload } = entry;
    if (!Array.isArray(actions) || actions.length === 0) throw new GrantError(`${at}.actions must be a non-empty array`);
    const bad = actions.findIndex((a) => typeof a !== "string");
    if (bad >= 0) throw new GrantError(`${at}.actions[${bad}] must be a string`);
    if (!Array.isArray(topics) || topics.length === 0) throw new GrantError(`${at}.topics must be a non-empty array`);
    if (topics.length > GRANT_LIMITS.topicsPerDetail) throw new GrantError(`${at}.topics has more than ${GRANT_LIMITS.topicsPerDetail} matchers`);
    if (payload !== undefined && !isObject(payload)) throw new GrantError(`${at}.payload must be an object`);
    const matchers: TopicMatcher[] = [];
    for (const [j, t] of topics.entries()) {
      const where = `${at}.topics[${j}]`;
      if (!isObject(t) || typeof t.match !== "string") throw new GrantError(`${where} must be an object with a string match`);
      const type = t.match_type === undefined ? "exact" : t.match_type;
      if (type !== "exact" && type !== "urlpattern") throw new GrantError(`${where}.match_type must be exact or urlpattern`);
      matchers.push(await compile(type, t.match, ctx, count++, `${where}.match`));
    }
    details.push({ actions: new Set(actions as string[]), matchers, payload });
  }
  const publish = details.filter((d) => d.actions.has("publish")).flatMap((d) => d.matchers);
  const subscribeDetails = details.filter((d) => d.actions.has("subscribe"));
  const subscribe = subscribeDetails.flatMap((d) => d.matchers);
  const publishing = new TopicMatcherSet(publish);
  const subscribing = new TopicMatcherSet(subscribe);
  return {
    ...base("1.0", claims),
    canPublish: (topic) => publishing.matches(topic),
    canSubscribe: (topic) => subscribing.matches(topic),
    payloadFor: (_type, matcher) => subscribeDetails.find((d) => anyMatches(d.matchers, matcher))?.payload,
    subscribeScope: scopeOf(subscribe),
  };
}
