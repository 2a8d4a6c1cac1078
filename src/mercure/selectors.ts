/*
 * STAND-IN, not the real selectors. The real topic matchers (URI templates,
 * URL patterns, limits) are written on the `mercure-selectors` branch; the
 * lead takes that file in place of this one at merge. This one has exactly
 * its API so that authorization (src/mercure/grant.ts) can be built and
 * tested against it meanwhile: every type matches `*` and the exact string,
 * nothing else.
 */

export type MatcherType = "exact" | "urlpattern" | "selector"; // "selector" = 0.x topic selector: "*", exact string, or RFC 6570 URI template

export interface TopicMatcher {
  readonly type: MatcherType;
  readonly source: string;
  matches(topic: string): boolean;
}

export class SelectorError extends Error {}

export function compileMatcher(type: MatcherType, source: string, _hubUrl: URL): TopicMatcher {
  const matches = source === "*" ? () => true : (topic: string) => topic === source;
  return { type, source, matches };
}
