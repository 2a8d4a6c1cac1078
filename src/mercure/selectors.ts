/**
 * STAND-IN until the topic matchers land (branch mercure-selectors): "*"
 * and exact topics only, for every matcher type.
 */
export type MatcherType = "exact" | "urlpattern" | "selector";

export interface TopicMatcher {
  readonly type: MatcherType;
  readonly source: string;
  matches(topic: string): boolean;
}

export class SelectorError extends Error {}

export const SELECTOR_LIMITS = { maxLength: 1024 };

export function compileMatcher(type: MatcherType, source: string, _hubUrl: URL): TopicMatcher {
  if (source.length > SELECTOR_LIMITS.maxLength) throw new SelectorError(`a topic matcher is at most ${SELECTOR_LIMITS.maxLength} characters`);
  return { type, source, matches: source === "*" ? () => true : (topic) => topic === source };
}

export function inReservedNamespace(topic: string, hubUrl: URL): boolean {
  try {
    const path = new URL(topic, hubUrl).pathname;
    return path === hubUrl.pathname || path.startsWith(hubUrl.pathname + "/");
  } catch {
    return false;
  }
}

export function topicProblem(value: string): string | null {
  return /[\u0000-\u001f\u007f-\u009f]/.test(value) ? "it contains control characters" : null;
}
