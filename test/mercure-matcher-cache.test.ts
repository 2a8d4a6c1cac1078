import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { MatcherCache } from "../src/mercure/matcher-cache.js";
import { hmacKey } from "../src/mercure/keys.js";
import { verifyToken } from "../src/mercure/tokens.js";
import { TurnBudget } from "../src/turn-budget.js";

/**
 * The compiled matchers shared by tokens and subscriptions: compiled once
 * while held, least recently used out first, one per hub for relative
 * patterns, and compiled only within the loop's turn budget.
 */

const HUB = new URL("https://hub.example/.well-known/mercure");
const OTHER_HUB = new URL("https://other.example/.well-known/mercure");
const budget = () => new TurnBudget();

/** A budget already spent in this turn: its next question says no. */
function spentBudget(): TurnBudget {
  const turn = new TurnBudget(0);
  turn.hasTime();
  return turn;
}

/** Whether `work` finished only after the loop took a turn (a setImmediate queued before it ran first). */
async function yieldedDuring(work: () => Promise<unknown>): Promise<boolean> {
  let turned = false;
  setImmediate(() => (turned = true));
  await work();
  return turned;
}

describe("MatcherCache", () => {
  it("gives the matcher it compiled for the same type, source and hub", async () => {
    const cache = new MatcherCache(8);
    const first = await cache.compile("urlpattern", "https://example.com/books/:id", HUB, budget());
    expect(await cache.compile("urlpattern", "https://example.com/books/:id", HUB, budget())).toBe(first);
    expect(await cache.compile("selector", "https://example.com/books/:id", HUB, budget())).not.toBe(first);
    expect(cache.size).toBe(2);
  });

  it("keeps a relative pattern per hub: each matches against its own", async () => {
    const cache = new MatcherCache(8);
    const here = await cache.compile("urlpattern", "/books/:id", HUB, budget());
    const there = await cache.compile("urlpattern", "/books/:id", OTHER_HUB, budget());
    expect(there).not.toBe(here);
    expect(here.matches("https://hub.example/books/1")).toBe(true);
    expect(here.matches("https://other.example/books/1")).toBe(false);
    expect(there.matches("https://other.example/books/1")).toBe(true);
  });

  it("holds at most its bound, dropping the least recently used", async () => {
    const cache = new MatcherCache(2);
    const a = await cache.compile("selector", "https://example.com/{a}", HUB, budget());
    const b = await cache.compile("selector", "https://example.com/{b}", HUB, budget());
    expect(await cache.compile("selector", "https://example.com/{a}", HUB, budget())).toBe(a);
    await cache.compile("selector", "https://example.com/{c}", HUB, budget());
    expect(cache.size).toBe(2);
    expect(await cache.compile("selector", "https://example.com/{a}", HUB, budget())).toBe(a);
    expect(await cache.compile("selector", "https://example.com/{b}", HUB, budget())).not.toBe(b);
  });

  it("hands the loop back before compiling when the turn's budget is spent, never for a matcher it holds", async () => {
    const cache = new MatcherCache(8);
    expect(await yieldedDuring(() => cache.compile("urlpattern", "https://example.com/a/:id", HUB, spentBudget()))).toBe(true);
    expect(await yieldedDuring(() => cache.compile("urlpattern", "https://example.com/a/:id", HUB, spentBudget()))).toBe(false);
  });

  it("does not keep what fails to compile", async () => {
    const cache = new MatcherCache(8);
    await expect(cache.compile("urlpattern", "https://example.com/(", HUB, budget())).rejects.toThrow(/not a valid URL pattern/);
    expect(cache.size).toBe(0);
  });
});

describe("a token's grant", () => {
  it("is compiled within the turn budget: a token of many new patterns hands the loop back", async () => {
    const secret = "a-publisher-secret-of-at-least-32-bytes!";
    const keys = { publisher: hmacKey(secret), subscriber: hmacKey(secret), issuer: null, audience: null };
    // Sources no other test names, so that none of them is already compiled.
    const selectors = Array.from({ length: 20 }, (_, i) => `https://example.com/yield-${i}/{id}`);
    const token = await new SignJWT({ mercure: { publish: selectors } }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret));
    const now = Date.now();
    expect(await yieldedDuring(() => verifyToken(token, keys, "publish", HUB, now, spentBudget()))).toBe(true);
    const grant = await verifyToken(token, keys, "publish", HUB, now, spentBudget());
    expect(grant.canPublish("https://example.com/yield-7/42")).toBe(true);
    expect(grant.canPublish("https://example.com/yield-20/42")).toBe(false);
  });
});
