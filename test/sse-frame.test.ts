import { describe, expect, it } from "vitest";
import { encodeComment, encodeFrame, encodeRetry, httpChunk } from "../src/hub/sse-frame.js";

interface Parsed {
  events: { id?: string; event?: string; data: string }[];
  comments: string[];
  retry?: number;
  /** Text after the last line break: an unterminated line, which a parser keeps waiting on. */
  rest: string;
}

/**
 * The event-stream parsing algorithm of the HTML standard, written out
 * independently of the encoder: lines end at CRLF, LF or CR; a blank line
 * dispatches the event if it has data; `id`/`event` apply to that event.
 */
function parseStream(text: string): Parsed {
  const out: Parsed = { events: [], comments: [], rest: "" };
  const lines = text.split(/\r\n|\r|\n/);
  out.rest = lines.pop()!;
  let id: string | undefined;
  let event: string | undefined;
  let data: string[] | null = null;
  for (const line of lines) {
    if (line === "") {
      if (data !== null) out.events.push({ ...(id !== undefined && { id }), ...(event !== undefined && { event }), data: data.join("\n") });
      id = event = undefined;
      data = null;
      continue;
    }
    if (line.startsWith(":")) {
      out.comments.push(line.slice(1));
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") (data ??= []).push(value);
    else if (field === "id") id = value;
    else if (field === "event") event = value;
    else if (field === "retry") out.retry = Number(value);
    else throw new Error(`unexpected field ${JSON.stringify(field)} in ${JSON.stringify(text)}`);
  }
  return out;
}

describe("encodeFrame", () => {
  it("writes id, event and data lines and a blank line", () => {
    expect(encodeFrame({ id: 7, event: "call.started", data: '{"call":"c1"}' })).toBe('id: 7\nevent: call.started\ndata: {"call":"c1"}\n\n');
  });

  it("leaves out id and event when absent", () => {
    expect(encodeFrame({ data: "x" })).toBe("data: x\n\n");
    expect(encodeFrame({ id: "42", data: "x" })).toBe("id: 42\ndata: x\n\n");
    expect(encodeFrame({ event: "reset", data: "{}" })).toBe("event: reset\ndata: {}\n\n");
  });

  it("keeps empty data as one empty data line, so the event is still dispatched", () => {
    expect(encodeFrame({ data: "" })).toBe("data: \n\n");
    expect(parseStream(encodeFrame({ data: "" }))).toEqual({ events: [{ data: "" }], comments: [], rest: "" });
  });

  it("splits multi-line data into one data: line per line, for LF, CRLF and CR alike", () => {
    expect(encodeFrame({ data: "a\nb" })).toBe("data: a\ndata: b\n\n");
    expect(encodeFrame({ data: "a\r\nb" })).toBe("data: a\ndata: b\n\n");
    expect(encodeFrame({ data: "a\rb" })).toBe("data: a\ndata: b\n\n");
    expect(encodeFrame({ data: "a\n\nb" })).toBe("data: a\ndata: \ndata: b\n\n");
    expect(encodeFrame({ data: "a\r\n\r\nb\r\rc\n" })).toBe("data: a\ndata: \ndata: b\ndata: \ndata: c\ndata: \n\n");
    // CR LF is one break, LF CR is two.
    expect(encodeFrame({ data: "a\n\rb" })).toBe("data: a\ndata: \ndata: b\n\n");
  });

  it("never lets a raw CR or LF into the id or event fields", () => {
    const frame = encodeFrame({ id: "1\nevent: evil\r\ndata: injected\r", event: "call.started\r\ndata: forged\nid: 999", data: "ok" });
    const lines = frame.split("\n");
    // Exactly: the id line, the event line, one data line, the blank line.
    expect(lines).toHaveLength(5);
    expect(lines[0].startsWith("id: ")).toBe(true);
    expect(lines[1].startsWith("event: ")).toBe(true);
    expect(lines.slice(2)).toEqual(["data: ok", "", ""]);
    expect(frame.slice(0, -2).replace(/\n/g, "")).not.toMatch(/\r/);
    const { events, rest } = parseStream(frame);
    expect(events).toHaveLength(1);
    expect(rest).toBe("");
    const [parsed] = events;
    expect(parsed.data).toBe("ok");
    expect(parsed.id).not.toMatch(/[\r\n]/);
    expect(parsed.event).not.toMatch(/[\r\n]/);
    expect(parsed.id).toContain("1");
  });

  it("round-trips through a spec parser: data with any line breaks comes back with LF", () => {
    const samples = ["plain", '{"json":true,"text":"a\\nb"}', "line1\nline2\r\nline3\rline4", "\n", "\r\n\r\n", " leading space", "trailing space ", "ümlaut ✓ 🚀", "data: looks like a field", ": looks like a comment"];
    for (const data of samples) {
      const parsed = parseStream(encodeFrame({ id: 5, event: "x.y", data }));
      expect(parsed).toEqual({ events: [{ id: "5", event: "x.y", data: data.replace(/\r\n|\r/g, "\n") }], comments: [], rest: "" });
    }
  });

  it("ends every frame with exactly one blank line, so frames concatenate into a valid stream", () => {
    const stream = encodeFrame({ id: 1, data: "a\nb" }) + encodeComment("hi") + encodeFrame({ id: 2, event: "e", data: "c" });
    expect(parseStream(stream)).toEqual({
      events: [
        { id: "1", data: "a\nb" },
        { id: "2", event: "e", data: "c" },
      ],
      comments: [" hi"],
      rest: "",
    });
  });
});

describe("encodeComment", () => {
  it("writes a comment line and a blank line", () => {
    expect(encodeComment("keep-alive")).toBe(": keep-alive\n\n");
    expect(encodeComment()).toBe(":\n\n");
    expect(encodeComment("")).toBe(":\n\n");
  });

  it("keeps a multi-line comment on one line, so it cannot become a field", () => {
    const text = encodeComment("a\ndata: injected\r\nid: 9\rb");
    expect(text.split("\n")).toHaveLength(3);
    expect(text).not.toMatch(/\r/);
    expect(text.startsWith(":")).toBe(true);
    const parsed = parseStream(text);
    expect(parsed.events).toEqual([]);
    expect(parsed.comments).toHaveLength(1);
    expect(parsed.comments[0]).toContain("injected");
  });
});

describe("encodeRetry", () => {
  it("writes the reconnection time in whole non-negative milliseconds", () => {
    expect(encodeRetry(2000)).toBe("retry: 2000\n\n");
    expect(encodeRetry(0)).toBe("retry: 0\n\n");
    expect(encodeRetry(1500.9)).toBe("retry: 1500\n\n");
    expect(encodeRetry(-5)).toBe("retry: 0\n\n");
    expect(parseStream(encodeRetry(3000))).toEqual({ events: [], comments: [], retry: 3000, rest: "" });
  });
});

describe("httpChunk", () => {
  it("wraps bytes as one HTTP/1.1 chunk: hex length, CRLF, bytes, CRLF", () => {
    expect(httpChunk(Buffer.from("hello")).toString("latin1")).toBe("5\r\nhello\r\n");
    const body = Buffer.alloc(300, "a");
    expect(httpChunk(body).toString("latin1")).toBe(`12c\r\n${"a".repeat(300)}\r\n`);
    expect(httpChunk(Buffer.alloc(16, "z")).toString("latin1")).toBe(`10\r\n${"z".repeat(16)}\r\n`);
  });

  it("counts bytes, not characters", () => {
    const body = Buffer.from("é✓🚀"); // 2 + 3 + 4 bytes
    const chunk = httpChunk(body);
    expect(chunk.subarray(0, 3).toString("latin1")).toBe("9\r\n");
    expect(chunk.subarray(3, 12).equals(body)).toBe(true);
    expect(chunk.subarray(12).toString("latin1")).toBe("\r\n");
    expect(chunk.length).toBe(3 + 9 + 2);
  });

  it("copies arbitrary binary bytes unchanged", () => {
    const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const chunk = httpChunk(body);
    expect(chunk.subarray(0, 5).toString("latin1")).toBe("100\r\n");
    expect(chunk.subarray(5, 5 + 256).equals(body)).toBe(true);
    expect(chunk.subarray(261).toString("latin1")).toBe("\r\n");
  });

  it("frames a whole SSE frame so a chunked decoder gets it back", () => {
    const frame = Buffer.from(encodeFrame({ id: 12, event: "call.ended", data: '{"a":"ü"}' }));
    const chunk = httpChunk(frame).toString("latin1");
    const eol = chunk.indexOf("\r\n");
    const size = parseInt(chunk.slice(0, eol), 16);
    expect(size).toBe(frame.length);
    expect(Buffer.from(chunk.slice(eol + 2, eol + 2 + size), "latin1").equals(frame)).toBe(true);
    expect(chunk.slice(eol + 2 + size)).toBe("\r\n");
  });
});
