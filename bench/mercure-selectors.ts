/**
 * Mercure topic matching (src/mercure/selectors.ts): µs per compile and per
 * match, for everyday selectors against everyday topics and for adversarial
 * patterns against 100,000-character topics (which a backtracking regexp
 * engine would take exponential time on). In-process, one case at a time;
 * each figure is the median of RUNS timed runs after a warm-up.
 *
 *   npx tsx bench/mercure-selectors.ts
 *   RUNS=51 npx tsx bench/mercure-selectors.ts
 */
import { loadavg } from "node:os";
import { SignJWT } from "jose";
import { hmacKey } from "../src/mercure/keys.js";
import { compileMatcher, type MatcherType } from "../src/mercure/selectors.js";
import { MERCURE_DETAIL_TYPE, verifyToken } from "../src/mercure/tokens.js";
import { TurnBudget } from "../src/turn-budget.js";

const RUNS = Number(process.env.RUNS ?? 21);
const HUB = new URL("https://hub.example/.well-known/mercure");
const LONG = 100_000;

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median µs of one call, timing batches of `inner` calls so short ones are measurable. */
function time(fn: () => unknown, inner: number): number {
  for (let i = 0; i < inner; i++) fn();
  const samples: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    for (let i = 0; i < inner; i++) fn();
    samples.push(((performance.now() - start) * 1000) / inner);
  }
  return median(samples);
}

const cases: [string, MatcherType, string, string | string[]][] = [
  ["exact, equal", "exact", "https://example.com/books/1", "https://example.com/books/1"],
  ["template, match", "selector", "https://example.com/books/{id}", "https://example.com/books/1"],
  ["template, miss", "selector", "https://example.com/books/{id}", "https://example.com/authors/1"],
  ["URL pattern, match", "urlpattern", "https://example.com/books/:id", "https://example.com/books/1"],
  ["URL pattern, miss", "urlpattern", "https://example.com/books/:id", "https://example.com/authors/1"],
  ["relative URL pattern, relative topic", "urlpattern", "/books/:id", "/books/1"],
  // URL patterns reuse the last topic's parse (fan-out tests one topic against many): alternating defeats that.
  ["URL pattern, a different topic each time", "urlpattern", "https://example.com/books/:id", ["https://example.com/books/1", "https://example.com/books/2"]],
  ["{+v0}x…{+v19}x, 100k × 'x' + ' '", "selector", Array.from({ length: 20 }, (_, i) => `{+v${i}}x`).join(""), `${"x".repeat(LONG)} `],
  [
    "{a}{/b*}{?c,d,e}{&f*}, 100k-character match",
    "selector",
    "https://example.com/{a}{/b*}{?c,d,e}{&f*}",
    `https://example.com/${"a,".repeat(LONG / 8)}${"/b".repeat(LONG / 8)}?c=1&d=2&e=3${"&f=1".repeat(LONG / 16)}`,
  ],
  ["/*a*a*a*a*b, 100k × 'a'", "urlpattern", "/*a*a*a*a*b", `/${"a".repeat(LONG)}`],
  ["/:a-:b-…-:h-z, 100k × '-'", "urlpattern", "/:a-:b-:c-:d-:e-:f-:g-:h-z", `/${"-".repeat(LONG)}`],
  ["/((?:a|aa)+)+b, 100k × 'a'", "urlpattern", "/((?:a|aa)+)+b", `/${"a".repeat(LONG)}`],
  ["/(.*.*.*.*.*.*.*.*.*.*x), 100k × 'y'", "urlpattern", "/(.*.*.*.*.*.*.*.*.*.*x)", `/${"y".repeat(LONG)}`],
  ["3 × (?:a|b){100} + c (DFA cache overflows)", "urlpattern", "/((?:a|b){100}(?:a|b){100}(?:a|b){100}c)", `/${"ab".repeat(150)}c`],
];

console.log(`node ${process.version}, median of ${RUNS} runs, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}\n`);
console.log("| case | compile µs | match µs | matches | ns per topic character |");
console.log("|---|---:|---:|---|---:|");
for (const [name, type, source, topics] of cases) {
  const compileUs = time(() => compileMatcher(type, source, HUB), 50);
  const matcher = compileMatcher(type, source, HUB);
  const alternate = Array.isArray(topics) ? topics : [topics];
  const topic = alternate[0];
  const long = topic.length > 10_000;
  let turn = 0;
  const matchUs = time(() => matcher.matches(alternate[turn++ % alternate.length]), long ? 1 : 10_000);
  const perChar = ((matchUs * 1000) / topic.length).toFixed(1);
  console.log(`| ${name} | ${compileUs.toFixed(1)} | ${matchUs.toFixed(long ? 0 : 2)} | ${matcher.matches(topic)} | ${perChar} |`);
}

/**
 * A token as large as GRANT_LIMITS allows (256 distinct URL patterns):
 * verified the first time, its compiles run in slices of the turn budget,
 * so what matters is the longest slice; verified again, every matcher is
 * held (MatcherCache) and the whole verification is one short slice.
 */
async function tokenCase(): Promise<void> {
  const secret = new TextEncoder().encode("a-publisher-secret-of-at-least-32-bytes!");
  const keys = { publisher: hmacKey("a-publisher-secret-of-at-least-32-bytes!"), subscriber: null, issuer: null, audience: null };
  const samples: { first: number; slice: number; again: number }[] = [];
  for (let r = 0; r < Math.min(RUNS, 11); r++) {
    const details = Array.from({ length: 4 }, (_, d) => ({
      type: MERCURE_DETAIL_TYPE,
      actions: ["publish"],
      topics: Array.from({ length: 64 }, (_, i) => ({ match: `https://example.com/r${r}/d${d}/t${i}/:id/*`, match_type: "urlpattern" })),
    }));
    const token = await new SignJWT({ authorization_details: details, aud: HUB.href })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .setExpirationTime("1h")
      .sign(secret);
    // The longest stretch between two turns of the loop while the first verification runs.
    let slice = 0;
    let last = performance.now();
    let running = true;
    const watch = () => {
      const now = performance.now();
      slice = Math.max(slice, now - last);
      last = now;
      if (running) setImmediate(watch);
    };
    setImmediate(watch);
    const start = performance.now();
    await verifyToken(token, keys, "publish", HUB, Date.now(), turn);
    const first = performance.now() - start;
    running = false;
    const again = performance.now();
    await verifyToken(token, keys, "publish", HUB, Date.now(), turn);
    samples.push({ first, slice, again: performance.now() - again });
  }
  const ms = (pick: (s: (typeof samples)[number]) => number) => median(samples.map(pick)).toFixed(1);
  console.log("\nA 1.0 token of 256 distinct URL patterns (4 details × 64), verified for publishing:\n");
  console.log("| first verification ms | its longest slice between loop turns, ms | the same token again, ms |");
  console.log("|---:|---:|---:|");
  console.log(`| ${ms((s) => s.first)} | ${ms((s) => s.slice)} | ${ms((s) => s.again)} |`);
}

const turn = new TurnBudget();
await tokenCase();
