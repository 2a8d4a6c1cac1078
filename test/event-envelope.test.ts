import { describe, expect, it } from "vitest";
import { checkEvent, inputSchema, validEnvelope } from "../src/event.js";

/**
 * validEnvelope is the quick check a valid event takes instead of
 * inputSchema; whatever it accepts, inputSchema must accept and return
 * unchanged, or invalid events would get in (or valid ones be stored
 * differently) the quick way.
 */
describe("validEnvelope", () => {
  const base = { type: "call.started", subject: "call-1", data: { n: 1, nested: { __proto__: 1 } as unknown }, key: "k-1" };
  const valid: unknown[] = [
    base,
    { type: "a.b" },
    { type: "x-y.z_0.w", subject: null, key: null, data: {} },
    { type: "order.placed", data: { "2": "two", "1": "one", b: [1, { c: null }] } },
    { type: "t.t", subject: "é😀", key: "k".repeat(200) },
    { type: `a.${"b".repeat(98)}`, subject: "s".repeat(200) },
    JSON.parse('{"type":"a.b","data":{"x":{"__proto__":{"y":1}}}}'),
  ];
  const invalid: unknown[] = [
    null,
    "call.started",
    42,
    [base],
    {},
    { ...base, type: undefined },
    { ...base, type: 7 },
    { ...base, type: "Call.started" },
    { ...base, type: "call" },
    { ...base, type: "call.\n" },
    { ...base, type: `a.${"b".repeat(99)}` },
    { ...base, subject: "" },
    { ...base, subject: "s".repeat(201) },
    { ...base, subject: "a\tb" },
    { ...base, subject: "\ud800" },
    { ...base, subject: 5 },
    { ...base, key: "" },
    { ...base, key: "\udc00x" },
    { ...base, key: "a\u007f" },
    { ...base, key: {} },
    { ...base, data: null },
    { ...base, data: [1, 2] },
    { ...base, data: "text" },
    { ...base, data: 3 },
    { ...base, extra: true },
    JSON.parse('{"type":"a.b","__proto__":{"x":1}}'),
    // Accepted by inputSchema, but not unchanged: it drops data's own "__proto__".
    JSON.parse('{"type":"a.b","data":{"__proto__":{"x":1},"y":2}}'),
    { type: "a.b", data: Object.assign(Object.create(null), { x: 1 }) },
    Object.assign(Object.create(null), { type: "a.b" }),
  ];

  it("accepts every ordinary valid event as it is", () => {
    for (const input of valid) {
      expect(validEnvelope(input), JSON.stringify(input)).toBe(input);
      const parsed = inputSchema.safeParse(input);
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(input);
    }
  });

  it("leaves to inputSchema anything it would refuse or change", () => {
    for (const input of invalid) {
      expect(validEnvelope(input), String(JSON.stringify(input))).toBeNull();
    }
    // And the reasons still come from inputSchema.
    expect(checkEvent({ ...base, subject: "" }, 1000)).toEqual({ ok: false, reason: "subject must not be empty" });
    expect(checkEvent({ ...base, extra: 1 }, 1000)).toEqual({ ok: false, reason: 'unknown field "extra"' });
    expect(checkEvent(JSON.parse('{"type":"a.b","data":{"__proto__":{"x":1},"y":2}}'), 1000)).toMatchObject({ ok: true, event: { data: '{"y":2}' } });
  });
});
