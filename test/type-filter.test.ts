import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { FilterError, globMatcher, parseTypes, typeMatcher } from "../src/hub/type-filter.js";
import { seeded } from "./support/random.js";

describe("parseTypes", () => {
  it("treats an absent or empty parameter as every type", () => {
    expect(parseTypes(undefined)).toEqual([]);
    expect(parseTypes(null)).toEqual([]);
    expect(parseTypes("")).toEqual([]);
    expect(parseTypes(",, ,")).toEqual([]);
  });

  it("trims, de-duplicates and sorts the globs", () => {
    expect(parseTypes("call.*, agent.status,call.*,  workflow.progress ")).toEqual(["agent.status", "call.*", "workflow.progress"]);
    expect(parseTypes("b,a,b,a")).toEqual(["a", "b"]);
  });

  it("accepts exact types and globs made of lower-case letters, digits, _, -, . and *", () => {
    for (const ok of ["call.started", "call.*", "*", "*.status", "chat.tool-run.*", "a_b.c-d.e9", "agent.*.changed", "x*y"]) {
      expect(parseTypes(ok)).toEqual([ok]);
    }
  });

  it("rejects malformed globs with a message naming the glob", () => {
    for (const bad of ["Call.started", "call..started", "call.", ".call", "call started", "call.?", "call.[ab]", "call/started", "call.é", 'a"b']) {
      expect(() => parseTypes(bad), bad).toThrow(FilterError);
      expect(() => parseTypes(bad), bad).toThrow(`"${bad.trim()}"`);
      expect(() => parseTypes(bad), bad).toThrow(/^types: .* is not a type or glob like call\.\*/);
    }
    // One bad glob among good ones rejects the whole parameter, naming the bad one.
    expect(() => parseTypes("call.*,Agent.status")).toThrow('"Agent.status"');
  });

  it("rejects a glob longer than 100 characters", () => {
    expect(parseTypes("a".repeat(100))).toEqual(["a".repeat(100)]);
    expect(() => parseTypes("a".repeat(101))).toThrow(FilterError);
  });

  it("allows at most 20 globs", () => {
    const globs = (n: number) => Array.from({ length: n }, (_, i) => `t${i}.*`).join(",");
    expect(parseTypes(globs(20))).toHaveLength(20);
    expect(() => parseTypes(globs(21))).toThrow(FilterError);
    expect(() => parseTypes(globs(21))).toThrow("at most 20");
    // Duplicates count once.
    expect(parseTypes(globs(20) + "," + globs(20))).toHaveLength(20);
  });
});

describe("typeMatcher", () => {
  it("returns null (match everything) for no globs", () => {
    expect(typeMatcher([])).toBeNull();
  });

  it("matches exact types exactly, as a set", () => {
    const m = typeMatcher(["call.started", "agent.status"])!;
    expect(m("call.started")).toBe(true);
    expect(m("agent.status")).toBe(true);
    expect(m("call")).toBe(false);
    expect(m("call.started.late")).toBe(false);
    expect(m("xcall.started")).toBe(false);
    expect(m("call.ended")).toBe(false);
  });

  it("treats the dot literally, not as any character", () => {
    const exact = typeMatcher(["call.started"])!;
    expect(exact("callxstarted")).toBe(false);
    const glob = typeMatcher(["call.*"])!;
    expect(glob("callx")).toBe(false);
    expect(glob("callxstarted")).toBe(false);
  });

  it("lets * match any run of characters, dots included, anchored at both ends", () => {
    const m = typeMatcher(["call.*"])!;
    expect(m("call.started")).toBe(true);
    expect(m("call.a.b.c")).toBe(true);
    expect(m("call.")).toBe(true);
    expect(m("call")).toBe(false);
    expect(m("calls.started")).toBe(false);
    expect(m("x.call.started")).toBe(false);

    const suffix = typeMatcher(["*.status"])!;
    expect(suffix("agent.status")).toBe(true);
    expect(suffix("a.b.status")).toBe(true);
    expect(suffix("agent.statuses")).toBe(false);

    const all = typeMatcher(["*"])!;
    expect(all("anything.at.all")).toBe(true);

    const middle = typeMatcher(["agent.*.changed"])!;
    expect(middle("agent.status.changed")).toBe(true);
    expect(middle("agent.a.b.changed")).toBe(true);
    expect(middle("agent.changed")).toBe(false);
  });

  it("combines globs and exact types with OR", () => {
    const m = typeMatcher(["call.*", "agent.status"])!;
    expect(m("call.ended")).toBe(true);
    expect(m("agent.status")).toBe(true);
    expect(m("agent.busy")).toBe(false);
  });

  it("agrees with SQLite's GLOB, which filters history, on every pair", () => {
    const db = new Database(":memory:");
    const glob = db.prepare("SELECT ? GLOB ?").pluck();
    const globs = ["call.*", "*.status", "*", "agent.*.changed", "call.started", "a*b", "chat.tool-run.*", "x_y.*"];
    const types = ["call.started", "call", "call.a.b", "agent.status", "agent.status.changed", "agent.changed", "ab", "a.x.b", "acb.d", "chat.tool-run.started", "chat.tool_run.started", "x_y.z", "xay.z", "statusless"];
    for (const g of globs) {
      const m = typeMatcher(parseTypes(g))!;
      for (const t of types) expect(m(t), `${t} vs ${g}`).toBe(glob.get(t, g) === 1);
    }
    db.close();
  });

  it("treats a glob of stars alone as every type, the empty string included, as GLOB does", () => {
    for (const g of ["*", "**", "***"]) {
      const m = typeMatcher([g])!;
      expect(m("call.started")).toBe(true);
      expect(m("")).toBe(true);
    }
  });

  it("answers at once for many stars against a long dotted type (no backtracking)", () => {
    // As a `.*` regex, ten stars against 49 dots took longer than any test would wait.
    const type = Array.from({ length: 50 }, () => "a").join(".");
    expect(type).toHaveLength(99);
    const stars = (n: number, end: string) => Array.from({ length: n }, () => "*").join(".") + end;
    expect(globMatcher(stars(10, ".zz"))(type)).toBe(false);
    expect(globMatcher(stars(10, ".a"))(type)).toBe(true);
    expect(globMatcher(stars(49, ".a"))(type)).toBe(true);
    expect(globMatcher(stars(50, ".a"))(type)).toBe(false);
    const twenty = Array.from({ length: 20 }, (_, i) => stars(10, `.z${i}`));
    expect(typeMatcher(twenty)!(type)).toBe(false);
  });

  it("agrees with SQLite's GLOB on thousands of random globs and types", () => {
    const db = new Database(":memory:");
    const glob = db.prepare("SELECT ? GLOB ?").pluck();
    const random = seeded(8);
    const pick = (chars: string) => chars[Math.floor(random() * chars.length)];
    const text = (chars: string, max: number) => Array.from({ length: Math.floor(random() * (max + 1)) }, () => pick(chars)).join("");
    // A small alphabet makes pieces recur, so partial and overlapping matches are common; runs of
    // stars, leading and trailing stars, dots and empty pieces all come up.
    const randomGlob = () => text("ab.-_0**", 12);
    // Half the types are made from the glob itself (each star replaced by a random run), so about
    // half the pairs match; the rest are random.
    const fromGlob = (g: string) => g.replace(/\*/g, () => text("ab.-_0", 4)).slice(0, random() < 0.2 ? -1 : undefined);
    let matched = 0;
    let pairs = 0;
    for (let i = 0; i < 3000; i++) {
      const g = randomGlob();
      const m = globMatcher(g);
      for (let j = 0; j < 6; j++) {
        const t = j % 2 === 0 ? fromGlob(g) : text("ab.-_0", 14);
        const expected = glob.get(t, g) === 1;
        expect(m(t), `${JSON.stringify(t)} GLOB ${JSON.stringify(g)}`).toBe(expected);
        if (expected) matched++;
        pairs++;
      }
    }
    // The sample is meaningful only if both answers are common.
    expect(matched).toBeGreaterThan(pairs / 5);
    expect(matched).toBeLessThan((pairs * 4) / 5);
    db.close();
  });

  it("agrees with SQLite's GLOB on sets of valid globs, as history reads use them", () => {
    const db = new Database(":memory:");
    const glob = db.prepare("SELECT ? GLOB ?").pluck();
    const random = seeded(80);
    const segment = () => ["a", "b", "ab", "*", "a*", "*b", "**", "call", "x-y", "z_0"][Math.floor(random() * 10)];
    const validGlob = () => Array.from({ length: 1 + Math.floor(random() * 4) }, segment).join(".");
    const types = ["a", "b", "ab", "a.b", "call.a", "a.b.ab", "x-y.z_0", "call", "b.a.b.a", "ab.ab.ab", "call.x-y.b"];
    for (let i = 0; i < 500; i++) {
      const globs = parseTypes(Array.from({ length: 1 + Math.floor(random() * 4) }, validGlob).join(","));
      const m = typeMatcher(globs)!;
      for (const t of types) expect(m(t), `${t} vs ${globs}`).toBe(globs.some((g) => glob.get(t, g) === 1));
    }
    db.close();
  });
});

