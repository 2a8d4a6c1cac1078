import { describe, expect, it, vi } from "vitest";
import { QueueBudget, type Holder } from "../src/hub/queue-budget.js";
import { ReplayScheduler } from "../src/hub/replay-scheduler.js";
import { TurnBudget } from "../src/turn-budget.js";
import { TurnCounter } from "./support/turns.js";

/** A holder whose bytes and progress the test sets by hand. */
function holder(budget: QueueBudget, name: string, cut: string[]) {
  type Mutable = { queuedBytes: number; unsentBytes: number; heldSince: number };
  const h: Holder & Mutable & { hold(unsent: number, reserved?: number): void; progress(): void } = {
    queuedBytes: 0,
    unsentBytes: 0,
    heldSince: 0,
    cutForMemory() {
      cut.push(name);
      h.hold(0);
    },
    hold(unsent, reserved = 0) {
      const before = h.queuedBytes;
      if (unsent > 0 && h.unsentBytes === 0) h.heldSince = budget.now();
      h.unsentBytes = unsent;
      h.queuedBytes = unsent + reserved;
      budget.adjust(h, before, unsent + reserved);
    },
    progress() {
      h.heldSince = budget.now();
    },
  };
  return h;
}

describe("QueueBudget", () => {
  it("cuts only holders whose sockets took nothing for the grace time, never reservations or draining ones", () => {
    let now = 0;
    const budget = new QueueBudget(1000, 100, () => now);
    const cut: string[] = [];
    const stalled = holder(budget, "stalled", cut);
    const draining = holder(budget, "draining", cut);
    const waiting = holder(budget, "waiting", cut);
    stalled.hold(400);
    draining.hold(400);
    waiting.hold(0, 150);
    expect(budget.total).toBe(950);
    expect(budget.fits(100)).toBe(false);

    now = 150;
    draining.progress();
    // Within grace nothing may be cut, whatever it holds.
    expect(new QueueBudget(1000, 1000, () => now).reclaim(100)).toBe(true);
    expect(budget.reclaim(100)).toBe(true);
    expect(cut).toEqual(["stalled"]);
    expect(budget.total).toBe(550);
  });

  it("keeps a share of the bound for live frames", () => {
    const budget = new QueueBudget(1000, 100, () => 0);
    const cut: string[] = [];
    holder(budget, "a", cut).hold(700);
    expect(budget.fits(100, 0.75)).toBe(false);
    expect(budget.fits(100)).toBe(true);
  });

  it("cuts every holder stalled longer than the stall time", () => {
    let now = 0;
    const budget = new QueueBudget(1000, 100, () => now);
    const cut: string[] = [];
    const a = holder(budget, "a", cut);
    const b = holder(budget, "b", cut);
    a.hold(10);
    now = 500;
    b.hold(10);
    now = 1000;
    expect(budget.cutStalled(800)).toBe(1);
    expect(cut).toEqual(["a"]);
  });

  it("cuts many stalled holders a turn's budget at a time, the rest on the next turns", async () => {
    let now = 0;
    // A turn with time for three cuts, then none until the next turn.
    let asked = 0;
    const budget = new QueueBudget(1000, 100, () => now, () => ++asked % 3 !== 0);
    const cut: string[] = [];
    const holders = Array.from({ length: 8 }, (_, i) => holder(budget, `h${i}`, cut));
    for (const h of holders) h.hold(10);
    now = 1000;
    expect(budget.cutStalled(800)).toBe(8);
    expect(cut).toEqual(["h0", "h1", "h2"]);
    // One drains before its turn comes: it is no longer stalled, and stays.
    holders[5].hold(0);
    await vi.waitFor(() => expect(cut).toEqual(["h0", "h1", "h2", "h3", "h4", "h6", "h7"]));
    expect(budget.total).toBe(0);
  });
});

describe("ReplayScheduler", () => {
  it("grants turns in the order asked, so replays take pages in round robin", async () => {
    const scheduler = new ReplayScheduler();
    const order: string[] = [];
    const replay = async (name: string) => {
      for (let page = 0; page < 3; page++) {
        await scheduler.turn();
        order.push(`${name}${page}`);
      }
    };
    await Promise.all([replay("a"), replay("b"), replay("c")]);
    expect(order).toEqual(["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]);
  });

  it("takes tenants in turn: a tenant with many steps waiting does not hold another's behind them", async () => {
    const scheduler = new ReplayScheduler();
    const order: string[] = [];
    const steps = (tenant: string, n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => scheduler.turn(tenant).then(() => order.push(`${tenant}${i}`))));
    await Promise.all([steps("a", 6), steps("b", 2), steps("c", 1)]);
    expect(order).toEqual(["a0", "b0", "c0", "a1", "b1", "a2", "a3", "a4", "a5"]);
  });

  it("hands the loop back once a slice is spent", async () => {
    const scheduler = new ReplayScheduler(new TurnBudget(1));
    const turns = new TurnCounter();
    for (let step = 0; step < 20; step++) {
      await scheduler.turn();
      const until = performance.now() + 2;
      while (performance.now() < until);
    }
    turns.stop();
    // Each 2 ms step exceeds the 1 ms slice: other callbacks ran between the steps.
    expect(turns.count).toBeGreaterThanOrEqual(19);
  });
});
