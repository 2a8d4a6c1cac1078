import { describe, expect, it } from "vitest";
import { compileMatcher, SelectorError } from "../src/mercure/selectors.js";

const HUB = new URL("https://hub.example/.well-known/mercure");

const pattern = (source: string, hub = HUB) => compileMatcher("urlpattern", source, hub);

/** Asserts which topics the pattern matches and which it does not. */
function expectMatches(source: string, matching: string[], notMatching: string[]) {
  const m = pattern(source);
  for (const topic of matching) expect(m.matches(topic), `${source} should match ${topic}`).toBe(true);
  for (const topic of notMatching) expect(m.matches(topic), `${source} should not match ${topic}`).toBe(false);
}

function patternError(source: string): SelectorError {
  try {
    pattern(source);
  } catch (error) {
    if (error instanceof SelectorError) return error;
    throw error;
  }
  throw new Error(`"${source}" compiled`);
}

describe("URL pattern matchers (1.0)", () => {
  it("match a named group to one path segment", () => {
    expectMatches(
      "https://example.com/books/:id",
      ["https://example.com/books/1", "https://example.com/books/1?x=1#y"],
      ["https://example.com/books/1/x", "https://example.com/books/", "https://example.com/authors/1", "http://example.com/books/1"],
    );
  });

  it("resolve a relative pattern and relative topics against the hub's URL", () => {
    expectMatches(
      "/books/:id",
      ["https://hub.example/books/7", "/books/7", "//hub.example/books/7"],
      ["https://other.example/books/7", "http://hub.example/books/7", "https://hub.example:8443/books/7", "books/7"],
    );
    // An absolute pattern on the hub's own origin matches the relative topic too.
    expect(pattern("https://hub.example/books/:id").matches("/books/1")).toBe(true);
    // A pathname without a leading slash is relative to the hub's directory, as a topic is.
    expectMatches("books/:id", ["https://hub.example/.well-known/books/1", "books/1"], ["/books/1"]);
  });

  it("match hub-generated subscription topics with a relative pattern", () => {
    const m = pattern("/.well-known/mercure/subscriptions/exact/:topic/:subscriber");
    const topic = `/.well-known/mercure/subscriptions/exact/${encodeURIComponent("https://example.com/books/1")}/${encodeURIComponent("urn:uuid:5a0c")}`;
    expect(m.matches(topic)).toBe(true);
    expect(m.matches(`https://hub.example${topic}`)).toBe(true);
    expect(m.matches("/.well-known/mercure/subscriptions/urlpattern/a/b")).toBe(false);
    expect(m.matches("/.well-known/mercure/subscriptions/exact/a")).toBe(false);
  });

  it("match hostname wildcards and named labels, a label never spanning a dot", () => {
    expectMatches(
      "https://*.example.com/*",
      ["https://a.example.com/x", "https://a.b.example.com/x/y?z#h", "https://A.Example.COM/"],
      ["https://example.com/x", "http://a.example.com/x", "https://a.example.com:8443/x", "https://a.example.org/x"],
    );
    expectMatches("https://:tenant.example.com/*", ["https://acme.example.com/x"], ["https://a.b.example.com/x", "https://example.com/x"]);
  });

  it("follow the standard's examples of groups and modifiers", () => {
    expectMatches("/blog/:title", ["/blog/hello-world"], ["/blog/2012/02"]);
    expectMatches("/blog/:year(\\d+)/:month(\\d+)", ["/blog/2012/02"], ["/blog/2012/feb", "/blog/2012"]);
    expectMatches("/products/:id?", ["/products", "/products/2"], ["/products/", "/products/2/3"]);
    expectMatches("/products/{:id}?", ["/products/", "/products/2"], ["/products"]);
    expectMatches("/products/*", ["/products/", "/products/a/b"], ["/products"]);
    expectMatches("/books/:id+", ["/books/1", "/books/1/2/3"], ["/books", "/books/"]);
    expectMatches("/books/:id*", ["/books", "/books/1", "/books/1/2"], ["/books/"]);
    expectMatches("/book{s}?/:id", ["/book/1", "/books/1"], ["/bookss/1"]);
    expectMatches("/books{/:id}+", ["/books/1", "/books/1/2"], ["/books"]);
    expectMatches("/:file.json", ["/report.json"], ["/report.xml", "/a/report.json"]);
    expectMatches("/*.json", ["/a/b.json"], ["/a/b.xml"]);
  });

  it("treat escaped characters as text", () => {
    expectMatches("https://hub.example/books/\\:id", ["/books/:id"], ["/books/1"]);
    // Before any other component, an escaped colon ends the protocol, as the standard's constructor string parser has it.
    expect(patternError("/books/\\:id").reason).toBe(`is not a valid URL pattern: protocol "/books/": "/books/" is not a scheme`);
    expectMatches("/a\\*b", ["/a*b"], ["/axb"]);
    expectMatches("/a\\{b\\}", ["/a{b}"], ["/ab"]);
  });

  it("take the default port when a host is given without one, any port with :*", () => {
    expectMatches("https://example.com/*", ["https://example.com/x", "https://example.com:443/x"], ["https://example.com:8443/x"]);
    expectMatches("https://example.com:*/*", ["https://example.com/x", "https://example.com:8443/x"], []);
    expectMatches("https://example.com:443/*", ["https://example.com/x"], ["https://example.com:8443/x"]);
    expectMatches("https://example.com:8443/*", ["https://example.com:8443/x"], ["https://example.com/x"]);
  });

  it("leave username and password unchecked unless given", () => {
    expectMatches("https://example.com/*", ["https://alice:secret@example.com/x"], []);
    expectMatches("https://alice@example.com/*", ["https://alice@example.com/x", "https://alice:pw@example.com/x"], ["https://bob@example.com/x", "https://example.com/x"]);
  });

  it("leave search and hash open unless given", () => {
    expectMatches("https://example.com/books", ["https://example.com/books", "https://example.com/books?page=2#top"], ["https://example.com/books/1"]);
    expectMatches("https://example.com/books?page=:n", ["https://example.com/books?page=2", "https://example.com/books?page=2&x=1"], [
      "https://example.com/books",
      "https://example.com/books?size=2",
    ]);
    expectMatches("/books/:id#:section", ["/books/1#intro"], ["/books/1", "/books/1#"]);
    // Giving a search closes the hash only if the hash follows: "…?q" leaves the hash open, "…?q#" empty.
    expectMatches("/books?q", ["/books?q", "/books?q#x"], ["/books?r", "/books"]);
  });

  it("compare hosts case-insensitively and everything else case-sensitively", () => {
    expectMatches("https://EXAMPLE.com/books/:id", ["https://example.com/books/1", "https://Example.COM/books/1"], ["https://example.com/Books/1"]);
    expectMatches("/Books/:id", ["/Books/1"], ["/books/1"]);
    expectMatches("/books?Q=:v", ["/books?Q=1"], ["/books?q=1"]);
  });

  it("canonicalize the pattern's text as topics are canonicalized", () => {
    expectMatches("https://example.com/caf\u00e9/:id", ["https://example.com/caf%C3%A9/1", "https://example.com/caf\u00e9/1"], ["https://example.com/cafe/1"]);
    expectMatches("/a b/:id", ["/a%20b/1", "/a b/1"], []);
    expectMatches("/a/../b/:id", ["/b/1", "/b/c/../1"], ["/a/b/1"]);
    expectMatches("https://b\u00fccher.example/*", ["https://xn--bcher-kva.example/x", "https://b\u00fccher.example/x"], []);
  });

  it("match the protocol too", () => {
    expectMatches("*://example.com/*", ["https://example.com/x", "http://example.com/x", "wss://example.com/x"], []);
    expectMatches("http{s}?://example.com/*", ["https://example.com/x", "http://example.com/x"], ["ws://example.com/x"]);
    expectMatches("(https?)://example.com/*", ["https://example.com/x", "http://example.com/x"], ["ftp://example.com/x"]);
  });

  it("take IPv6 hosts with escaped colons, as the standard requires", () => {
    expectMatches("http://[\\:\\:1]/*", ["http://[::1]/x", "http://[0::1]/x"], ["http://[::2]/x"]);
    expect(patternError("http://[::1]/*").reason).toMatch(/^is not a valid URL pattern: hostname "\[::1\]": ":" must be followed by a group name/);
  });

  it("resolve a non-special scheme's relative pathname against the hub's directory, as the standard does with a base URL", () => {
    // So a URN pattern cannot match URN topics; exact matchers can.
    expect(pattern("urn\\:uuid\\:*").matches("urn:uuid:5a0c")).toBe(false);
    expect(pattern("urn\\:uuid\\:*").matches("urn:/.well-known/uuid:5a0c")).toBe(true);
    expect(pattern("urn:*").matches("urn:uuid:5a0c")).toBe(false);
  });

  it("never match a topic that is not a URL reference against the hub's URL", () => {
    for (const source of ["/*", "*://*:*/*", "https://*/*"]) {
      const m = pattern(source);
      expect(m.matches("http://exa mple.com/x"), source).toBe(false);
      expect(m.matches("http://[::1/x"), source).toBe(false);
      expect(m.matches("https://example.com:99999/x"), source).toBe(false);
    }
  });

  it("resolve against the hub URL they were compiled with", () => {
    const tenantHub = new URL("https://switchboard.example/api/v1/tenants/acme/mercure");
    const m = pattern("/books/:id", tenantHub);
    expect(m.matches("https://switchboard.example/books/1")).toBe(true);
    expect(m.matches("https://hub.example/books/1")).toBe(false);
    expect(pattern("/books/:id").matches("https://hub.example/books/1")).toBe(true);
    // Alternating between hubs for one topic (the parsed topic is reused only for the same hub).
    expect(m.matches("/books/1")).toBe(true);
    expect(pattern("https://hub.example/books/:id").matches("/books/1")).toBe(true);
    expect(m.matches("/books/1")).toBe(true);
  });
});

describe("regular expression groups in URL patterns", () => {
  it("support characters, classes, escapes, groups, alternation and quantifiers", () => {
    expectMatches("/books/(\\d+)", ["/books/12"], ["/books/x", "/books/"]);
    expectMatches("/(books|authors)/:id", ["/books/1", "/authors/2"], ["/readers/3"]);
    expectMatches("/:id([a-f0-9]{8})", ["/deadbeef"], ["/deadbee", "/deadbeef0", "/DEADBEEF"]);
    expectMatches("/:id(\\w{2,3})", ["/ab", "/a_c"], ["/a", "/abcd", "/a-b"]);
    expectMatches("/:slug([\\w\\-]+).html", ["/my-page.html"], ["/my page.html"]);
    expectMatches("/:v(v\\d+(?:\\.\\d+)?)/*", ["/v1/x", "/v1.2/x"], ["/v1./x", "/1.2/x"]);
    // The standard's own segment wildcard, spelled out.
    expectMatches("/:id([^\\/]+?)", ["/a"], ["/a/b"]);
    expectMatches("/:code(\\x41\\u0042[^\\s])", ["/ABC"], ["/AB%20"]);
    expectMatches("/(.)", ["/a"], ["/ab", "/"]);
    expectMatches("/:id((?<digits>\\d)+)", ["/123"], ["/12a"]);
  });

  it("refuse what cannot run in linear time, naming it", () => {
    const refused: [string, string][] = [
      ["/books/(a(?=b))", "a look-around assertion"],
      ["/books/(a(?<=b))", "a look-around assertion"],
      ["/books/(a(?!b))", "a look-around assertion"],
      ["/books/:id(\\d+\\b)", `the word boundary "\\b"`],
      ["/books/:id(^\\d+)", `the anchor "^"`],
      ["/books/:id(\\d+$)", `the anchor "$"`],
      ["/books/:id((?:a)\\1)", "a back-reference"],
      ["/books/:id(\\p{L}+)", `the property escape "\\p{…}"`],
      ["/books/:id([a-z&&[aeiou]])", `the class set operation "&&"`],
      ["/books/:id([[a-z]])", "a nested class"],
    ];
    for (const [source, feature] of refused) {
      const error = patternError(source);
      expect(error.message, source).toContain(`${feature} is not supported`);
      expect(error.message.startsWith(`match_urlpattern "${source}" is not a valid URL pattern: pathname "${source}": regular expression "`), source).toBe(
        true,
      );
    }
  });

  it("refuse what the standard's own syntax refuses", () => {
    expect(patternError("/books/:id((\\d+))").reason).toBe(
      `is not a valid URL pattern: pathname "/books/:id((\\d+))": a group inside a regular expression must be non-capturing: "(?:…)" (at character 11)`,
    );
    expect(patternError("/:id([\\w-]+)").reason).toContain(`"-" must be escaped inside a class`);
    expect(patternError("/:id([^/]+)").reason).toContain(`"/" must be escaped inside a class`);
    expect(patternError("/:id(a{2)").reason).toContain(`"{" must be escaped when it does not start a repetition`);
    expect(patternError("/:id(*a)").reason).toContain(`"*" has nothing to repeat`);
    expect(patternError("/:id(a{3,2})").reason).toContain("has its numbers out of order");
    expect(patternError("/:id([z-a])").reason).toContain("a class range is out of order");
  });
});

describe("invalid URL patterns", () => {
  it("are refused with what is wrong", () => {
    const invalid: [string, string][] = [
      // A relative pathname is joined to the hub's directory first: the message shows the pathname it parsed.
      ["{unclosed", `pathname "/.well-known/{unclosed": expected "}" to close the group at character 23, found the end`],
      ["https://example.com/books/:", `pathname "/books/:": ":" must be followed by a group name (escape it as "\\:" for a literal colon) (at character 8)`],
      ["/books/:id/:id", `pathname "/books/:id/:id": the group name "id" is used twice`],
      ["/books/(", `pathname "/books/(": unbalanced parentheses in a regular expression group (at character 8)`],
      ["/books/()", `pathname "/books/()": empty regular expression group "()" (at character 8)`],
      ["/books/caf(\u00e9)", `pathname "/books/caf(\u00e9)": a regular expression group may only contain ASCII characters (at character 11)`],
      ["/books/\\", `pathname "/books/\\": a backslash at the end escapes nothing (at character 8)`],
      ["/books/{a{b}}", `pathname "/books/{a{b}}": expected "}" to close the group at character 10, found "{"`],
      ["https://example.com:99999/", `port "99999": "99999" is not a port (digits, at most 65535)`],
      ["https://example.com:80a/", `port "80a": "80a" is not a port (digits, at most 65535)`],
      ["https://exa mple.com/", `hostname "exa mple.com": a hostname cannot contain " "`],
      ["https://[x]/", `hostname "[x]": "[x]" is not an IPv6 address (hexadecimal digits and colons in brackets)`],
      ["ht tp://example.com/", `protocol "ht tp": "ht tp" is not a scheme`],
      // Before any other component, an unescaped ":" that starts no group ends the protocol.
      ["/books/:", `protocol "/books/": "/books/" is not a scheme`],
    ];
    for (const [source, reason] of invalid) {
      expect(patternError(source).message, source).toBe(`match_urlpattern "${source}" is not a valid URL pattern: ${reason}`);
    }
  });
});
