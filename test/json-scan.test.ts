import { describe, expect, it } from "vitest";
import { jsonDepth } from "../src/http/json-depth.js";
import { BatchScanner, ScanError, type ScannedValue } from "../src/http/json-scan.js";
import { LineScanner } from "../src/http/ndjson-scan.js";

/** Scans `chunks` as one body; returns the values found and whether it was an array. */
function scan(mode: "json" | "ndjson", chunks: string[], limits = { maxDepth: 10, maxChars: 1000 }): { values: ScannedValue[]; array: boolean } {
  const scanner = mode === "ndjson" ? new LineScanner(limits) : new BatchScanner(limits);
  for (const chunk of chunks) scanner.feed(chunk);
  scanner.end();
  return { values: scanner.values, array: scanner.array };
}

/** Every way of cutting `text` into two chunks, so no answer depends on where the network split the body. */
const splits = (text: string) => Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);

describe("BatchScanner and LineScanner", () => {
  it("splits a JSON array into its elements' texts, wherever the chunks are cut", () => {
    const body = ' [ {"type":"a.b","data":{"s":"x,]}\\"[{"}} , [1,[2]] ,"str\\\\", 42 ,null]  ';
    for (const chunks of splits(body)) {
      const { values, array } = scan("json", chunks);
      expect(array).toBe(true);
      expect(values.map((v) => ("text" in v ? JSON.parse(v.text) : v))).toEqual([
        { type: "a.b", data: { s: 'x,]}"[{' } },
        [1, [2]],
        "str\\",
        42,
        null,
      ]);
    }
  });

  it("takes a body that is not an array as one value", () => {
    for (const chunks of splits(' {"type":"a.b","data":{"n":[1,2]}} ')) {
      const { values, array } = scan("json", chunks);
      expect(array).toBe(false);
      expect(values).toHaveLength(1);
      expect(JSON.parse((values[0] as { text: string }).text)).toEqual({ type: "a.b", data: { n: [1, 2] } });
    }
  });

  it("splits NDJSON into its non-blank lines; a newline always ends a line, even in a broken string", () => {
    const body = '{"a":1}\r\n\n  \n{"b":"x\\\n{"c":[3]}\n';
    for (const chunks of splits(body)) {
      const { values } = scan("ndjson", chunks);
      expect(values).toEqual([{ text: '{"a":1}' }, { text: '{"b":"x\\' }, { text: '{"c":[3]}' }]);
    }
  });

  it("sets aside a value nesting deeper than the limit, keeping the values around it", () => {
    const deep = "[".repeat(11) + "]".repeat(11);
    const fine = "[".repeat(10) + "]".repeat(10);
    for (const chunks of splits(`[${fine},${deep},{"s":"[[[[[[[[[[[[[["}]`)) {
      const { values } = scan("json", chunks);
      expect(values).toEqual([{ text: fine }, { tooDeep: true }, { text: '{"s":"[[[[[[[[[[[[[["}' }]);
    }
    // A body that is not an array is one value; one that is, is a batch whose elements are measured.
    expect(scan("json", [`{"d":${fine}}`]).values).toEqual([{ tooDeep: true }]);
    expect(scan("json", [deep]).values).toEqual([{ text: fine }]);
    expect(scan("ndjson", [`${deep}\n${fine}`]).values).toEqual([{ tooDeep: true }, { text: fine }]);
  });

  it("measures a million levels in one linear pass, without recursion", () => {
    const depth = 1_000_000;
    const body = "[".repeat(depth) + "]".repeat(depth);
    const chunks = Array.from({ length: Math.ceil(body.length / 65536) }, (_, i) => body.slice(i * 65536, (i + 1) * 65536));
    expect(scan("json", chunks, { maxDepth: 65, maxChars: 1e9 }).values).toEqual([{ tooDeep: true }]);
    expect(jsonDepth(body, 64)).toBe(Infinity);
  });

  it("sets aside a value longer than the limit, even one long string, without keeping its text", () => {
    const long = `{"s":"${"x".repeat(2000)}"}`;
    for (const chunks of [[long], splits(long)[700], splits(long)[1500]]) {
      expect(scan("json", [`[{"a":1},`, ...chunks, "]"]).values).toEqual([{ text: '{"a":1}' }, { tooLong: long.length }]);
    }
    expect(scan("ndjson", [`${long}\n{"a":1}`]).values).toEqual([{ tooLong: long.length }, { text: '{"a":1}' }]);
  });

  it("refuses a broken batch structure as it reads it", () => {
    const broken = ["[1,,2]", "[,1]", "[1,]", '[{"a":1}]]', "[1] x", "[1", "", "   ", "[}"];
    for (const body of broken) expect(() => scan("json", [body]), body).toThrow(ScanError);
    // An empty array is well formed: it holds no values.
    expect(scan("json", ["[ ]"]).values).toEqual([]);
  });

  it("hands each value to onValue as it completes, which may stop the scan", () => {
    const seen: number[] = [];
    const scanner = new BatchScanner({
      maxDepth: 5,
      maxChars: 100,
      onValue: (_v, index) => {
        if (index >= 2) throw new Error("too many");
        seen.push(index);
      },
    });
    expect(() => scanner.feed("[1,2,3,4")).toThrow("too many");
    expect(seen).toEqual([0, 1]);
  });
});

describe("jsonDepth", () => {
  it("counts brackets outside strings only", () => {
    expect(jsonDepth('{"a":[{"b":"[[[[\\"{{"}]}', 10)).toBe(3);
    expect(jsonDepth("42", 10)).toBe(0);
    expect(jsonDepth("[[[]]]", 3)).toBe(3);
    expect(jsonDepth("[[[[]]]]", 3)).toBe(Infinity);
  });
});
