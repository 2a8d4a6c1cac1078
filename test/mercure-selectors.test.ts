import { describe, expect, it } from "vitest";
import { Automaton } from "../src/mercure/automaton.js";
import { compileMatcher, SELECTOR_LIMITS, SelectorError, TopicMatcherSet, type MatcherType } from "../src/mercure/selectors.js";
import { parseGroupRegexp } from "../src/mercure/url-pattern-regexp.js";

const HUB = new URL("https://hub.example/.well-known/mercure");

const selector = (source: string) => compileMatcher("selector", source, HUB);
const exact = (source: string) => compileMatcher("exact", source, HUB);

/** The error compileMatcher throws, so a test can check its message. */
function compileError(type: MatcherType, source: string): SelectorError {
  try {
    compileMatcher(type, source, HUB);
  } catch (error) {
    if (error instanceof SelectorError) return error;
    throw error;
  }
  throw new Error(`${type} "${source}" compiled`);
}

describe("the wildcard", () => {
  it("matches every topic in every matcher type, even a topic that is not a URL", () => {
    for (const type of ["exact", "urlpattern", "selector"] as const) {
      const matcher = compileMatcher(type, "*", HUB);
      expect(matcher).toMatchObject({ type, source: "*" });
      for (const topic of ["https://example.com/books/1", "/relative", "urn:uuid:1", "not a url", "", "*"]) {
        expect(matcher.matches(topic)).toBe(true);
      }
    }
  });
});

describe("exact matchers (1.0)", () => {
  it("compare byte for byte: no case folding, no resolution against the hub, no Unicode normalization", () => {
    const m = exact("https://example.com/books/1");
    expect(m.matches("https://example.com/books/1")).toBe(true);
    expect(m.matches("https://EXAMPLE.com/books/1")).toBe(false);
    expect(m.matches("https://example.com/books/1/")).toBe(false);
    expect(exact("/books/1").matches("https://hub.example/books/1")).toBe(false);
    expect(exact("caf\u00e9").matches("cafe\u0301")).toBe(false);
    expect(exact("caf\u00e9").matches("caf\u00e9")).toBe(true);
  });
  it("never read a template or a pattern", () => {
    expect(exact("https://example.com/{id}").matches("https://example.com/1")).toBe(false);
    expect(exact("https://example.com/:id").matches("https://example.com/1")).toBe(false);
    expect(exact("https://example.com/{id}").matches("https://example.com/{id}")).toBe(true);
  });
  it("refuse values breaking the 1.0 topic rules, with the reason", () => {
    expect(compileError("exact", "a\u0000b").message).toBe(`match "a\u0000b" contains the control character U+0000`);
    expect(compileError("exact", "https://example.com/\u202e").message).toBe(
      `match "https://example.com/\u202e" contains the invisible format character U+202E`,
    );
    expect(compileError("urlpattern", "/books/\ud800").reason).toBe("contains a lone surrogate U+D800 (not valid UTF-8)");
  });
});

describe("0.x topic selectors", () => {
  it("match the topic equal to them, templates or not", () => {
    expect(selector("https://example.com/books/1").matches("https://example.com/books/1")).toBe(true);
    expect(selector("https://example.com/books/1").matches("https://example.com/books/2")).toBe(false);
    // A template matches itself: a grant of a template allows subscribing with that template.
    expect(selector("https://example.com/books/{id}").matches("https://example.com/books/{id}")).toBe(true);
  });

  it("hold no rule on characters: 0.x topics are any strings", () => {
    expect(selector("tab\there").matches("tab\there")).toBe(true);
  });

  // RFC 6570's examples of every operator, expanded from its example variables: each expansion must match the
  // template (the yosida95/uritemplate test suite checks its Template.Regexp against the same pairs).
  const RFC_EXPANSIONS: [string, string][] = [
    ["'{count}'", "'one,two,three'"],
    ["{count}", "one,two,three"],
    ["{count*}", "one,two,three"],
    ["{/count}", "/one,two,three"],
    ["{/count*}", "/one/two/three"],
    ["{;count}", ";count=one,two,three"],
    ["{;count*}", ";count=one;count=two;count=three"],
    ["{?count}", "?count=one,two,three"],
    ["{?count*}", "?count=one&count=two&count=three"],
    ["{&count*}", "&count=one&count=two&count=three"],
    ["{var}", "value"],
    ["{hello}", "Hello%20World%21"],
    ["{half}", "50%25"],
    ["O{empty}X", "OX"],
    ["{x,y}", "1024,768"],
    ["{x,hello,y}", "1024,Hello%20World%21,768"],
    ["?{x,empty}", "?1024,"],
    ["{var:3}", "val"],
    ["{keys*}", "semi=%3B,dot=.,comma=%2C"],
    ["{+var}", "value"],
    ["{+hello}", "Hello%20World!"],
    ["{base}index", "http%3A%2F%2Fexample.com%2Fhome%2Findex"],
    ["{+base}index", "http://example.com/home/index"],
    ["{+path}/here", "/foo/bar/here"],
    ["here?ref={+path}", "here?ref=/foo/bar"],
    ["up{+path}{var}/here", "up/foo/barvalue/here"],
    ["{+path:6}/here", "/foo/b/here"],
    ["{+keys*}", "semi=;,dot=.,comma=,"],
    ["{#var}", "#value"],
    ["{#hello}", "#Hello%20World!"],
    ["foo{#empty}", "foo#"],
    ["foo{#undef}", "foo"],
    ["{#path,x}/here", "#/foo/bar,1024/here"],
    ["{.who}", ".fred"],
    ["www{.dom*}", "www.example.com"],
    ["X{.var:3}", "X.val"],
    ["X{.keys*}", "X.semi=%3B.dot=..comma=%2C"],
    ["{/who,who}", "/fred/fred"],
    ["{/who,dub}", "/fred/me%2Ftoo"],
    ["{/var,x}/here", "/value/1024/here"],
    ["{/list*,path:4}", "/red/green/blue/%2Ffoo"],
    ["{;who}", ";who=fred"],
    ["{;v,empty,who}", ";v=6;empty;who=fred"],
    ["{;x,y,undef}", ";x=1024;y=768"],
    ["{?x,y}", "?x=1024&y=768"],
    ["{?x,y,empty}", "?x=1024&y=768&empty="],
    ["{?keys*}", "?semi=%3B&dot=.&comma=%2C"],
    ["{&who}", "&who=fred"],
    ["?fixed=yes{&x}", "?fixed=yes&x=1024"],
    ["{special_chars}", "2001%3Adb8%3A%3A35"],
  ];
  it.each(RFC_EXPANSIONS)("match RFC 6570's expansions: %s matches %s", (template, expansion) => {
    expect(selector(template).matches(expansion)).toBe(true);
  });

  it("let a simple {var} match unreserved characters, commas and %XX, never reserved ones", () => {
    const m = selector("https://example.com/books/{id}");
    expect(m.matches("https://example.com/books/1")).toBe(true);
    expect(m.matches("https://example.com/books/Az09-._~,%2F")).toBe(true);
    for (const reserved of ["/", "?", "#", "&", "=", ";", ":", "@", "!", "$", "'", "(", "*", "+", "[", "]"]) {
      expect(m.matches(`https://example.com/books/a${reserved}b`), reserved).toBe(false);
    }
    // Only a complete %XX triplet, never decoded: %2F is not a "/".
    expect(m.matches("https://example.com/books/50%")).toBe(false);
    expect(m.matches("https://example.com/books/%G1")).toBe(false);
    // Variables are ASCII: other characters must be percent-encoded.
    expect(m.matches("https://example.com/books/caf\u00e9")).toBe(false);
    expect(m.matches("https://example.com/books/caf%C3%A9")).toBe(true);
  });

  it("let {+var} and {#var} match reserved characters too", () => {
    const plus = selector("https://example.com/{+path}");
    expect(plus.matches("https://example.com/a/b/c?d=e&f#g")).toBe(true);
    expect(plus.matches("https://example.com/a b")).toBe(false);
    const hash = selector("https://example.com/page{#section}");
    expect(hash.matches("https://example.com/page#a/b?c")).toBe(true);
    expect(hash.matches("https://example.com/pagea")).toBe(false);
  });

  it("make each expression optional as a whole, as an undefined variable expands to nothing", () => {
    const m = selector("https://example.com/books/{id}");
    expect(m.matches("https://example.com/books/")).toBe(true);
    expect(selector("https://example.com/books{/id}").matches("https://example.com/books")).toBe(true);
    expect(selector("https://example.com/books{?page}").matches("https://example.com/books")).toBe(true);
    expect(selector("https://example.com/foo{?bar}").matches("https://example.com/foobaz")).toBe(false);
  });

  it("allow `=` in named operators' values only, and after an explode", () => {
    expect(selector("{;x}").matches(";x=1")).toBe(true);
    expect(selector("{?x}").matches("?x=1")).toBe(true);
    expect(selector("{x}").matches("x=1")).toBe(false);
    expect(selector("{x*}").matches("x=1")).toBe(true);
    expect(selector("{.x}").matches(".a=b")).toBe(false);
    expect(selector("{.x*}").matches(".a=b.c=d")).toBe(true);
  });

  it("bound the values of a list without explode to its variables, and not with one", () => {
    const list = selector("https://example.com{/a,b}");
    expect(list.matches("https://example.com/1/2")).toBe(true);
    expect(list.matches("https://example.com/1/2/3")).toBe(false);
    const exploded = selector("https://example.com{/a*}");
    expect(exploded.matches("https://example.com/1/2/3/4/5")).toBe(true);
    const query = selector("https://example.com/search{?q,lang}");
    expect(query.matches("https://example.com/search?q=x&lang=fr")).toBe(true);
    expect(query.matches("https://example.com/search?q=x&lang=fr&more=1")).toBe(false);
  });

  it("do not limit the length matched by a prefix modifier, as the reference hub's library does not", () => {
    expect(selector("{var:3}").matches("value")).toBe(true);
  });

  it("match literal text exactly, non-ASCII and %XX included", () => {
    const m = selector("https://example.com/caf\u00e9/{id}/50%25");
    expect(m.matches("https://example.com/caf\u00e9/1/50%25")).toBe(true);
    expect(m.matches("https://example.com/caf%C3%A9/1/50%25")).toBe(false);
    expect(m.matches("https://example.com/caf\u00e9/1/50%")).toBe(false);
  });

  it("are compared exactly when they are not valid templates, and never refused for that", () => {
    const notTemplates = [
      "https://example.com/{id", // unbalanced
      "https://example.com/id}/{x}", // "}" outside an expression
      "https://example.com/{}",
      "https://example.com/{=x}", // reserved operator
      "https://example.com/{a b}",
      "https://example.com/{a-b}",
      "https://example.com/{.a..b}",
      "https://example.com/{var:0}",
      "https://example.com/{var:10000}",
      "https://example.com/{var*:3}",
      "https://example.com/a b/{x}", // space is not allowed in a template's text
      "https://example.com/%2/{x}",
      "https://example.com/{x}/\ud800",
    ];
    for (const source of notTemplates) {
      const m = selector(source);
      expect(m.matches(source), source).toBe(true);
      expect(m.matches(source.replace("{", "").replace("}", "")), source).toBe(false);
      expect(m.matches("https://example.com/1"), source).toBe(false);
    }
  });

  it("read variable names and prefixes as RFC 6570 does", () => {
    expect(selector("{a.b,c_d,%41}").matches("1,2,3")).toBe(true);
    expect(selector("{var:9999}").matches("x")).toBe(true);
    expect(selector("{var:1,other*}").matches("x,y,z")).toBe(true);
  });
});

describe("limits", () => {
  it("are documented numbers", () => {
    expect(SELECTOR_LIMITS).toMatchObject({
      maxLength: expect.any(Number),
      maxTemplateExpressions: expect.any(Number),
      maxTemplateVariables: expect.any(Number),
      maxPatternGroups: expect.any(Number),
      maxRegexpRepeat: expect.any(Number),
      maxStates: expect.any(Number),
    });
  });

  it("bound the length of every matcher type, counted in UTF-16 code units", () => {
    const atLimit = "https://example.com/" + "a".repeat(SELECTOR_LIMITS.maxLength - 20);
    expect(atLimit).toHaveLength(SELECTOR_LIMITS.maxLength);
    for (const type of ["exact", "urlpattern", "selector"] as const) {
      expect(compileMatcher(type, atLimit, HUB).matches(atLimit)).toBe(true);
      const error = compileError(type, `${atLimit}b`);
      expect(error.reason).toBe(`is too long: ${SELECTOR_LIMITS.maxLength + 1} characters, at most ${SELECTOR_LIMITS.maxLength}`);
      // The message quotes the start of the value, not all of it.
      expect(error.message.length).toBeLessThan(250);
    }
    expect(compileError("urlpattern", `${atLimit}b`).message).toMatch(/^match_urlpattern "https:\/\/example\.com\/a+…" is too long/);
    expect(compileError("exact", `${atLimit}b`).message).toMatch(/^match "https/);
    expect(compileError("selector", `${atLimit}b`).message).toMatch(/^topic "https/);
  });

  it("bound the expressions and variables of a URI template", () => {
    const expressions = (n: number) => Array.from({ length: n }, (_, i) => `{v${i}}`).join("/");
    const slashes = "/".repeat(SELECTOR_LIMITS.maxTemplateExpressions - 1);
    expect(selector(expressions(SELECTOR_LIMITS.maxTemplateExpressions)).matches(`a${slashes}b`)).toBe(true);
    expect(compileError("selector", expressions(SELECTOR_LIMITS.maxTemplateExpressions + 1)).message).toBe(
      `topic "${expressions(SELECTOR_LIMITS.maxTemplateExpressions + 1)}" has ${SELECTOR_LIMITS.maxTemplateExpressions + 1} URI template expressions, at most ${SELECTOR_LIMITS.maxTemplateExpressions}`,
    );
    const variables = (n: number) => `{/${Array.from({ length: n }, (_, i) => `v${i}`).join(",")}}`;
    expect(selector(variables(SELECTOR_LIMITS.maxTemplateVariables)).matches("/a/b")).toBe(true);
    expect(compileError("selector", variables(SELECTOR_LIMITS.maxTemplateVariables + 1)).reason).toBe(
      `has ${SELECTOR_LIMITS.maxTemplateVariables + 1} URI template variables, at most ${SELECTOR_LIMITS.maxTemplateVariables}`,
    );
  });

  it("apply to templates only: an invalid template of any size under the length limit is a plain string", () => {
    const many = `${Array.from({ length: 50 }, (_, i) => `{v${i}}`).join("/")}/{unclosed`;
    expect(selector(many).matches(many)).toBe(true);
  });

  it("bound the groups of a URL pattern", () => {
    const groups = (n: number) => `/${Array.from({ length: n }, (_, i) => `:g${i}`).join("/")}`;
    expect(compileMatcher("urlpattern", groups(SELECTOR_LIMITS.maxPatternGroups), HUB).matches("/a".repeat(SELECTOR_LIMITS.maxPatternGroups))).toBe(
      true,
    );
    expect(compileError("urlpattern", groups(SELECTOR_LIMITS.maxPatternGroups + 1)).reason).toBe(
      `is too complex a URL pattern: it has ${SELECTOR_LIMITS.maxPatternGroups + 1} groups and wildcards, at most ${SELECTOR_LIMITS.maxPatternGroups}`,
    );
  });

  it("bound repetition counts and the automaton a URL pattern's regular expression groups compile to", () => {
    expect(compileMatcher("urlpattern", `/(a{${SELECTOR_LIMITS.maxRegexpRepeat}})`, HUB).matches(`/${"a".repeat(SELECTOR_LIMITS.maxRegexpRepeat)}`)).toBe(true);
    expect(compileError("urlpattern", `/(a{${SELECTOR_LIMITS.maxRegexpRepeat + 1}})`).reason).toMatch(
      new RegExp(
        `^is not a valid URL pattern: pathname "/\\(a\\{${SELECTOR_LIMITS.maxRegexpRepeat + 1}\\}\\)": regular expression "a\\{${SELECTOR_LIMITS.maxRegexpRepeat + 1}\\}": a repetition count above ${SELECTOR_LIMITS.maxRegexpRepeat} is not supported`,
      ),
    );
    // Nested counts multiply: 100 × 100 copies would be 10,000 states.
    expect(compileError("urlpattern", "/((?:[a-z]{100}){100})").reason).toBe(
      `is too complex a URL pattern: a component compiles to more than ${SELECTOR_LIMITS.maxStates} automaton states`,
    );
  });
});

describe("a set of matchers", () => {
  it("matches a topic when any of its matchers does, and an update when any of its topics does", () => {
    const set = new TopicMatcherSet([
      exact("https://example.com/a"),
      selector("https://example.com/books/{id}"),
      compileMatcher("urlpattern", "/authors/:id", HUB),
    ]);
    expect(set.matches("https://example.com/a")).toBe(true);
    expect(set.matches("https://example.com/books/1")).toBe(true);
    expect(set.matches("https://hub.example/authors/2")).toBe(true);
    expect(set.matches("https://example.com/b")).toBe(false);
    expect(set.matchesAny(["https://example.com/b", "/authors/3"])).toBe(true);
    expect(set.matchesAny(["https://example.com/b", "/readers/3"])).toBe(false);
    expect(set.matchesAny([])).toBe(false);
  });
  it("compares 0.x selectors that are not templates as strings, and tries the templates", () => {
    const set = new TopicMatcherSet([selector("https://example.com/{id"), selector("https://example.com/a"), selector("https://example.com/b/{id}")]);
    expect(set.matches("https://example.com/{id")).toBe(true);
    expect(set.matches("https://example.com/a")).toBe(true);
    expect(set.matches("https://example.com/b/1")).toBe(true);
    expect(set.matches("https://example.com/b/{id}")).toBe(true);
    expect(set.matches("https://example.com/c")).toBe(false);
  });
  it("matches everything with a wildcard among them, and nothing when empty", () => {
    expect(new TopicMatcherSet([exact("x"), compileMatcher("urlpattern", "*", HUB)]).matches("anything")).toBe(true);
    expect(new TopicMatcherSet([]).matches("anything")).toBe(false);
  });
});

describe("adversarial selectors against long topics", () => {
  // With a backtracking engine each of these takes exponential time in the number of wildcards.
  const LONG = 100_000;

  it("match a template of many reserved expansions in one pass", () => {
    const template = Array.from({ length: SELECTOR_LIMITS.maxTemplateExpressions }, (_, i) => `{+v${i}}x`).join("");
    const m = selector(template);
    expect(m.matches("x".repeat(LONG))).toBe(true);
    expect(m.matches("x".repeat(LONG - 1) + " ")).toBe(false);
    expect(m.matches("ax".repeat(LONG / 2))).toBe(true);
    expect(m.matches("a".repeat(LONG))).toBe(false); // fewer "x" than expressions
  });

  it("match URI template lists and explodes against long inputs", () => {
    const m = selector("https://example.com/{a}{/b*}{?c,d,e}{&f*}");
    const long = `https://example.com/${"a,".repeat(LONG / 2)}${"/b".repeat(LONG / 2)}?c=1&d=2&e=3${"&f=1".repeat(LONG / 4)}`;
    expect(m.matches(long)).toBe(true);
    expect(m.matches(`${long}#`)).toBe(false);
    expect(m.matches(`https://example.com/${"%".repeat(LONG)}`)).toBe(false);
  });

  it("match URL patterns of many wildcards in one pass", () => {
    const stars = compileMatcher("urlpattern", "/*a*a*a*a*b", HUB);
    expect(stars.matches(`/${"a".repeat(LONG)}`)).toBe(false);
    expect(stars.matches(`/${"a".repeat(LONG)}b`)).toBe(true);
    expect(stars.matches(`/${"ab".repeat(LONG / 2)}`)).toBe(true);
    const segments = compileMatcher("urlpattern", "/:a-:b-:c-:d-:e-:f-:g-:h-z", HUB);
    expect(segments.matches(`/${"-".repeat(LONG)}`)).toBe(false);
    expect(segments.matches(`/${"a-".repeat(LONG / 2)}z`)).toBe(true);
    const nested = compileMatcher("urlpattern", "/((?:a|aa)+)+b", HUB);
    expect(nested.matches(`/${"a".repeat(LONG)}`)).toBe(false);
    expect(nested.matches(`/${"a".repeat(LONG)}b`)).toBe(true);
    const dots = compileMatcher("urlpattern", "/(.*.*.*.*.*.*.*.*.*.*x)", HUB);
    expect(dots.matches(`/${"y".repeat(LONG)}`)).toBe(false);
    expect(dots.matches(`/${"y".repeat(LONG)}x`)).toBe(true);
  });

  it("give the same answers when the cache of automaton states overflows", () => {
    // Each (?:a|b) position is its own DFA state: more than the cache holds, so it is emptied mid-topic.
    const automaton = new Automaton(parseGroupRegexp("(?:a|b){100}(?:a|b){100}(?:a|b){100}c"), SELECTOR_LIMITS.maxStates);
    for (let i = 0; i < 3; i++) {
      expect(automaton.matches(`${"ab".repeat(150)}c`)).toBe(true);
      expect(automaton.matches("ab".repeat(150))).toBe(false);
      expect(automaton.matches(`${"ab".repeat(149)}c`)).toBe(false);
    }
    expect(automaton.cacheResets).toBeGreaterThan(0);
    const m = compileMatcher("urlpattern", "/((?:a|b){100}(?:a|b){100}(?:a|b){100}c)", HUB);
    expect(m.matches(`/${"ab".repeat(150)}c`)).toBe(true);
    expect(m.matches(`/${"ab".repeat(150)}`)).toBe(false);
  });
});
