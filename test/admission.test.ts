import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { admission } from "../src/http/admission.js";
import type { AppEnv } from "../src/http/env.js";
import { TurnBudget } from "../src/turn-budget.js";

/** Holds the loop for `ms`, as a stream's registration or a request's checks do. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** An app whose one route does `workMs` of synchronous work and records how many had run when the loop turned. */
function app(withAdmission: boolean) {
  const served: number[] = [];
  const app = new Hono<AppEnv>();
  if (withAdmission) app.use(admission(new TurnBudget(4)));
  app.get("/work", (c) => {
    busy(1);
    served.push(Number(c.req.query("i")));
    return c.text("ok");
  });
  return { app, served };
}

describe("admission", () => {
  it("lets tenants take turns: a flood from one holds no other tenant's requests behind it", async () => {
    const served: string[] = [];
    const a = new Hono<AppEnv>();
    a.use(admission(new TurnBudget(4)));
    a.get("/api/v1/tenants/:tenant/work", (c) => {
      busy(1);
      served.push(c.req.param("tenant"));
      return c.text("ok");
    });
    const flood = Array.from({ length: 40 }, () => Promise.resolve(a.request("/api/v1/tenants/flood/work")));
    const probe = Array.from({ length: 3 }, () => Promise.resolve(a.request("/api/v1/tenants/probe/work")));
    await Promise.all([...flood, ...probe]);
    expect(served).toHaveLength(43);
    // Arrived last, served within the first few turns: one probe request per flood request at most.
    const lastProbe = served.lastIndexOf("probe");
    expect(lastProbe).toBeLessThan(20);
  });

  it("lets requests that arrive together run a few milliseconds' worth per turn, the rest on later turns, in order", async () => {
    for (const withAdmission of [false, true]) {
      const { app: a, served } = app(withAdmission);
      let beforeTurn = -1;
      setImmediate(() => (beforeTurn = served.length));
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => Promise.resolve(a.request(`/work?i=${i}`)).then((r) => r.text())));
      await new Promise((r) => setImmediate(r));
      expect(answers.every((t) => t === "ok")).toBe(true);
      expect(served).toEqual(Array.from({ length: 40 }, (_, i) => i));
      // Unchecked, all 40 ms of work runs before the loop turns once; admitted, about four requests do.
      if (withAdmission) expect(beforeTurn).toBeLessThan(20);
      else expect(beforeTurn).toBe(40);
    }
  });
});
