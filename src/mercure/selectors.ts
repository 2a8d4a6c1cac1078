import { Automaton, AutomatonTooLarge } from "./automaton.js";
import { topicProblem } from "./topic-text.js";
import { parseUriTemplate } from "./uri-template.js";
import { UrlPattern, TooManyGroups } from "./url-pattern.js";
import { MAX_REPEAT } from "./url-pattern-regexp.js";
import { PatternSyntaxError } from "./url-pattern-tokens.js";

export { inReservedNamespace } from "./reserved-namespace.js";
export { topicProblem } from "./topic-text.js";

/**
 * Topic matching for Mercure, both protocol generations, in time linear in
 * the topic's length for every matcher, whatever a subscriber sends:
 *
 * - "selector" (0.x `topic=`, `mercure.subscribe`/`mercure.publish` claims):
 *   `*` matches every topic; a selector equal to the topic matches it; a
 *   selector that is an RFC 6570 URI template matches the topics its
 *   expressions can expand to, exactly as the 0.x reference hub decides it
 *   (see uri-template.ts); anything else (not a template: unbalanced braces,
 *   characters templates do not allow…) only matches itself. Like the
 *   reference hub, a selector without "{" is only ever compared.
 * - "exact" (1.0 `match=`, `match_type: exact`): byte-for-byte comparison.
 * - "urlpattern" (1.0 `match_urlpattern=`): a WHATWG URL pattern, relative
 *   patterns and relative topics resolved against the hub's URL, never
 *   case-insensitive (hosts are lower-cased by URL canonicalization on both
 *   sides); a topic that is not a URL reference never matches. See
 *   url-pattern.ts, and url-pattern-regexp.ts for the regular expression
 *   groups it accepts.
 *
 * `*` is the wildcard in every type. Templates and URL patterns compile to
 * automata (automaton.ts), never to a JavaScript RegExp, whose backtracking
 * a crafted pattern could make take exponential time on the event loop.
 * Compiling costs tens of µs (linear in the source's length, up to a few ms
 * at the limits); a compiled matcher is cheap to run and safe to share, so
 * compile once per distinct (type, source, hub URL).
 */

export type MatcherType = "exact" | "urlpattern" | "selector";

export interface TopicMatcher {
  readonly type: MatcherType;
  readonly source: string;
  matches(topic: string): boolean;
}

/** Each limit is enforced at compile time with a SelectorError; matching itself has no limit to hit. */
export const SELECTOR_LIMITS = {
  /** UTF-16 code units in one selector or matcher, of any type (a topic longer than this cannot be subscribed to exactly). */
  maxLength: 2048,
  /** `{…}` expressions in one URI template selector. */
  maxTemplateExpressions: 20,
  /** Variables over all the expressions of one URI template (`{x,y}` is two): each adds automaton states. */
  maxTemplateVariables: 40,
  /** Groups and wildcards (`:name`, `*`, `(…)`, `{…}?`) over all the components of one URL pattern. */
  maxPatternGroups: 20,
  /** The largest count in a repetition `{n,m}` inside a URL pattern's regular expression group. */
  maxRegexpRepeat: MAX_REPEAT,
  /** Automaton states for one URI template or one URL pattern component: bounds compile time and memory. */
  maxStates: 4096,
} as const;

/** What the subscribe request calls each type, for messages a 400 can carry as they are. */
const PARAMETER: Record<MatcherType, string> = { exact: "match", urlpattern: "match_urlpattern", selector: "topic" };

/** A matcher the hub must refuse (400 for a subscription, invalid_token for a grant). */
export class SelectorError extends Error {
  /** What is wrong, without the parameter name and value: for messages about a token's claim rather than a parameter. */
  readonly reason: string;
  constructor(
    readonly type: MatcherType,
    readonly source: string,
    reason: string,
  ) {
    super(`${PARAMETER[type]} "${shown(source)}" ${reason}`);
    this.reason = reason;
  }
}

/** A long value cut for a message: the start says which one it was. */
function shown(source: string): string {
  return source.length <= 120 ? source : `${source.slice(0, 117)}…`;
}

export function compileMatcher(type: MatcherType, source: string, hubUrl: URL): TopicMatcher {
  if (source.length > SELECTOR_LIMITS.maxLength) {
    throw new SelectorError(type, source, `is too long: ${source.length} characters, at most ${SELECTOR_LIMITS.maxLength}`);
  }
  if (type !== "selector") {
    // 1.0 holds matcher values to the topic character rules; 0.x has none (a selector is any string).
    const problem = topicProblem(source);
    if (problem !== null) throw new SelectorError(type, source, problem);
  }
  if (source === "*") return { type, source, matches: () => true };
  switch (type) {
    case "exact":
      return exactMatcher(type, source);
    case "selector":
      return selectorMatcher(source);
    case "urlpattern":
      return urlPatternMatcher(source, hubUrl);
  }
}

/** Matchers that are a string comparison with their source (exact ones, and 0.x selectors that are no template). */
const comparisons = new WeakSet<TopicMatcher>();

function exactMatcher(type: MatcherType, source: string): TopicMatcher {
  const matcher: TopicMatcher = { type, source, matches: (topic) => topic === source };
  comparisons.add(matcher);
  return matcher;
}

function selectorMatcher(source: string): TopicMatcher {
  const template = source.includes("{") ? parseUriTemplate(source) : null;
  if (template === null) return exactMatcher("selector", source);
  if (template.expressions > SELECTOR_LIMITS.maxTemplateExpressions) {
    throw new SelectorError("selector", source, `has ${template.expressions} URI template expressions, at most ${SELECTOR_LIMITS.maxTemplateExpressions}`);
  }
  if (template.variables > SELECTOR_LIMITS.maxTemplateVariables) {
    throw new SelectorError("selector", source, `has ${template.variables} URI template variables, at most ${SELECTOR_LIMITS.maxTemplateVariables}`);
  }
  let automaton: Automaton;
  try {
    automaton = new Automaton(template.pattern, SELECTOR_LIMITS.maxStates);
  } catch (error) {
    if (error instanceof AutomatonTooLarge) throw new SelectorError("selector", source, `is too complex a URI template: it ${error.message}`);
    throw error;
  }
  // Step 2 of 0.x matching first: a selector matches itself (a template is allowed where it was granted).
  return { type: "selector", source, matches: (topic) => topic === source || automaton.matches(topic) };
}

function urlPatternMatcher(source: string, hubUrl: URL): TopicMatcher {
  let pattern: UrlPattern;
  try {
    pattern = UrlPattern.compile(source, hubUrl, { maxGroups: SELECTOR_LIMITS.maxPatternGroups, maxStates: SELECTOR_LIMITS.maxStates });
  } catch (error) {
    if (error instanceof PatternSyntaxError) throw new SelectorError("urlpattern", source, `is not a valid URL pattern: ${error.message}`);
    if (error instanceof TooManyGroups) throw new SelectorError("urlpattern", source, `is too complex a URL pattern: ${error.message}`);
    if (error instanceof AutomatonTooLarge) throw new SelectorError("urlpattern", source, `is too complex a URL pattern: a component ${error.message}`);
    throw error;
  }
  const base = hubUrl.href;
  return { type: "urlpattern", source, matches: (topic) => pattern.test(topic, base) };
}

/**
 * Many matchers as one (a subscriber's subscriptions, a token's grants):
 * string comparisons in a Set, a `*` anywhere short-circuiting, the rest
 * tried in turn.
 */
export class TopicMatcherSet {
  readonly #everything: boolean;
  readonly #exact = new Set<string>();
  readonly #patterns: TopicMatcher[] = [];

  constructor(readonly matchers: readonly TopicMatcher[]) {
    this.#everything = matchers.some((m) => m.source === "*");
    for (const m of matchers) {
      if (comparisons.has(m)) this.#exact.add(m.source);
      else this.#patterns.push(m);
    }
  }

  /** Whether any matcher matches the topic. */
  matches(topic: string): boolean {
    if (this.#everything || this.#exact.has(topic)) return true;
    for (const m of this.#patterns) if (m.matches(topic)) return true;
    return false;
  }

  /** Whether any matcher matches any of the topics (an update's canonical and alternate topics). */
  matchesAny(topics: readonly string[]): boolean {
    for (const topic of topics) if (this.matches(topic)) return true;
    return false;
  }
}
