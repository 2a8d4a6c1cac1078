import { nextTurn } from "../next-turn.js";
import type { TurnBudget } from "../turn-budget.js";
import { compileMatcher, type MatcherType, type TopicMatcher } from "./selectors.js";

/**
 * Matchers compiled lately, shared. A URL pattern takes 0.1–0.3 ms to
 * compile and a token may hold 256 of them, while a publisher sends the same
 * token with every update and subscribers open streams with the same
 * selectors again and again: each compiled once, they cost a lookup after.
 * Bounded by count, least recently used first out: a matcher holds its
 * automaton and up to DFA_CACHE_BYTES of cached transitions.
 */
export class MatcherCache {
  readonly #entries = new Map<string, TopicMatcher>();

  constructor(readonly max = 512) {}

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The matcher of `source`, compiled now if it is not held. A compile waits
   * for the next turn of the loop when this one's budget is spent, so that
   * a token or a request full of long patterns hands the loop back between
   * them. Throws SelectorError as compileMatcher does.
   */
  async compile(type: MatcherType, source: string, hubUrl: URL, turn: TurnBudget): Promise<TopicMatcher> {
    // A relative URL pattern is resolved against the hub's URL: the same text on two hubs is two matchers.
    const key = `${type}\u0000${hubUrl.href}\u0000${source}`;
    const held = this.#entries.get(key);
    if (held !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, held);
      return held;
    }
    if (!turn.hasTime()) await nextTurn();
    const matcher = compileMatcher(type, source, hubUrl);
    this.#entries.set(key, matcher);
    if (this.#entries.size > this.max) this.#entries.delete(this.#entries.keys().next().value!);
    return matcher;
  }
}

/** The server's one cache: grants and subscriptions name the same topics. */
export const matcherCache = new MatcherCache();
