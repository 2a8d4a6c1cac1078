import { globMatcher } from "./hub/type-filter.js";

/**
 * Which workers a key may speak for with the `work` scope: worker ids, or
 * globs where `*` stands for any run of characters (`connector-*`). Null: a
 * key not bound to workers, which may speak for any worker of its tenant.
 * A worker speaks when it holds its command stream open (its presence) and
 * when it publishes about its own work (the domains' worker events).
 */
export type WorkerBinding = readonly string[] | null;

/** Like a worker id in a route: 1 to 200 characters, no control characters (commas separate patterns). */
const PATTERN = /^[^\u0000-\u001f\u007f,]{1,200}$/;
const MAX_PATTERNS = 100;

export class WorkerBindingError extends Error {}

/** Parses `--workers runner-1,connector-*` into patterns; throws WorkerBindingError with what is wrong. */
export function parseWorkerPatterns(text: string): string[] {
  const patterns = [...new Set(text.split(",").map((p) => p.trim()).filter(Boolean))];
  if (patterns.length === 0) throw new WorkerBindingError("--workers needs at least one worker id or pattern, e.g. --workers runner-1,connector-*");
  if (patterns.length > MAX_PATTERNS) throw new WorkerBindingError(`--workers takes at most ${MAX_PATTERNS} ids or patterns`);
  const bad = patterns.find((p) => !PATTERN.test(p));
  if (bad !== undefined) throw new WorkerBindingError(`"${bad.slice(0, 40)}" is not a worker id or pattern: 1 to 200 characters, no control characters`);
  return patterns;
}

/** The binding as one predicate over worker ids; a null binding allows every worker. */
export function workerMatcher(binding: WorkerBinding): (worker: string) => boolean {
  if (binding === null) return () => true;
  const matchers = binding.map(globMatcher);
  return (worker) => matchers.some((match) => match(worker));
}

/** How a refusal names what a binding allows. */
export const describeBinding = (binding: readonly string[]): string => binding.map((p) => `"${p}"`).join(", ");
