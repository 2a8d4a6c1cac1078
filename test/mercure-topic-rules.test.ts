import { describe, expect, it } from "vitest";
import { inReservedNamespace, topicProblem } from "../src/mercure/selectors.js";

describe("the 1.0 topic character rules", () => {
  it("accept URLs, IRIs, URNs and any printable text, emoji included", () => {
    for (const value of ["https://example.com/books/1", "https://example.com/caf\u00e9", "urn:uuid:5a0c", "plain topic", "\u{1F600}", "", "*"]) {
      expect(topicProblem(value), value).toBeNull();
    }
  });
  it("refuse C0 and C1 controls and DEL", () => {
    expect(topicProblem("a\u0000")).toBe("contains the control character U+0000");
    expect(topicProblem("a\nb")).toBe("contains the control character U+000A");
    expect(topicProblem("a\u001f")).toBe("contains the control character U+001F");
    expect(topicProblem("a\u007f")).toBe("contains the control character U+007F");
    expect(topicProblem("a\u0085")).toBe("contains the control character U+0085");
    expect(topicProblem("a\u009f")).toBe("contains the control character U+009F");
    expect(topicProblem("a\u00a0")).toBeNull();
  });
  it("refuse invisible format characters (Unicode Cf), in and beyond the BMP", () => {
    for (const [char, code] of [
      ["\u00ad", "U+00AD"], // soft hyphen
      ["\u200b", "U+200B"], // zero width space
      ["\u200d", "U+200D"], // zero width joiner
      ["\u202e", "U+202E"], // right-to-left override
      ["\u2066", "U+2066"], // left-to-right isolate
      ["\ufeff", "U+FEFF"], // byte order mark
      ["\u{E0001}", "U+E0001"], // language tag
    ]) {
      expect(topicProblem(`https://example.com/${char}x`)).toBe(`contains the invisible format character ${code}`);
    }
  });
  it("refuse lone surrogates, which have no UTF-8 encoding", () => {
    expect(topicProblem("a\ud800")).toBe("contains a lone surrogate U+D800 (not valid UTF-8)");
    expect(topicProblem("a\ud800b")).toBe("contains a lone surrogate U+D800 (not valid UTF-8)");
    expect(topicProblem("\udc00a")).toBe("contains a lone surrogate U+DC00 (not valid UTF-8)");
    expect(topicProblem("\ud83d\ude00")).toBeNull();
  });
});

describe("the reserved hub namespace", () => {
  const hub = new URL("https://hub.example/.well-known/mercure");

  it("holds the hub's path and everything under it, relative or absolute, whatever the scheme or host", () => {
    for (const topic of [
      "/.well-known/mercure",
      "/.well-known/mercure/subscriptions/exact/a/b",
      "https://hub.example/.well-known/mercure/subscriptions/x",
      "https://other.example/.well-known/mercure/x",
      "http://hub.example:8080/.well-known/mercure",
      "foo://any/.well-known/mercure/x",
      "mercure/subscriptions", // relative to the hub's directory
      "/.well-known/mercure/?x=1",
      "/.well-known/mercure#x",
    ]) {
      expect(inReservedNamespace(topic, hub), topic).toBe(true);
    }
  });

  it("sees through dot segments and percent-encoded unreserved characters", () => {
    for (const topic of [
      "/.well-known/%6Dercure/subscriptions",
      "/.well-known/%6dercure",
      "/%2Ewell-known/mercure/x",
      "/.well-known/m%65rcure/x",
      "/.well-known/mercure/../mercure/x",
      "/.well-known/x/../mercure/y",
      "/.well-known/x/%2e%2E/mercure/y",
      "/a/b/../../.well-known/./mercure",
      "https://hub.example\\.well-known\\mercure\\x",
    ]) {
      expect(inReservedNamespace(topic, hub), topic).toBe(true);
    }
  });

  it("leaves out paths that only look alike, and topics that are not URL references", () => {
    for (const topic of [
      "/.well-known/mercurex",
      "/.well-known/mercure%2Fx", // an encoded slash is not a path separator
      "/.well-known/mercure/../x",
      "/.well-known/Mercure/x",
      "https://example.com/books/1",
      "urn:uuid:5a0c",
      "*",
      "http://exa mple.com/.well-known/mercure",
    ]) {
      expect(inReservedNamespace(topic, hub), topic).toBe(false);
    }
  });

  it("follows the hub's own path, such as a tenant's hub", () => {
    const tenantHub = new URL("https://switchboard.example/api/v1/tenants/acme/mercure");
    expect(inReservedNamespace("/api/v1/tenants/acme/mercure/subscriptions/x", tenantHub)).toBe(true);
    expect(inReservedNamespace("/api/v1/tenants/%61cme/mercure", tenantHub)).toBe(true);
    expect(inReservedNamespace("/api/v1/tenants/other/mercure/subscriptions/x", tenantHub)).toBe(false);
    expect(inReservedNamespace("/.well-known/mercure/subscriptions/x", tenantHub)).toBe(false);
    // A trailing slash on the hub's URL names the same namespace.
    expect(inReservedNamespace("/hub", new URL("https://h.example/hub/"))).toBe(true);
    expect(inReservedNamespace("/hubx", new URL("https://h.example/hub/"))).toBe(false);
  });
});
