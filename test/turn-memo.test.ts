import { describe, expect, it } from "vitest";
import { nextTurn } from "../src/next-turn.js";
import { TurnMemo } from "../src/turn-memo.js";

/** Lookups asked once per turn of the loop: within a turn the first answer, from the next turn a fresh one. */
describe("TurnMemo", () => {
  it("answers a key once per turn and asks again in the next", async () => {
    const memo = new TurnMemo<string, number>();
    let asked = 0;
    const answer = () => ++asked;
    expect(memo.get("k", answer)).toBe(1);
    expect(memo.get("k", answer)).toBe(1);
    expect(memo.get("other", answer)).toBe(2);
    await nextTurn();
    expect(memo.get("k", answer)).toBe(3);
  });

  it("asks again after clear(), in the same turn", () => {
    const memo = new TurnMemo<string, string | null>();
    let stored: string | null = "live";
    expect(memo.get("key", () => stored)).toBe("live");
    stored = null;
    expect(memo.get("key", () => stored)).toBe("live");
    memo.clear();
    expect(memo.get("key", () => stored)).toBeNull();
  });

  it("keeps at most its bound of answers in a turn; past it every question is asked", () => {
    const memo = new TurnMemo<number, number>(2);
    let asked = 0;
    const answer = (k: number) => (asked++, k * 10);
    for (const k of [1, 2, 3, 3, 1]) memo.get(k, answer);
    expect(asked).toBe(4);
  });
});
