import { Automaton } from "./automaton.js";
import { fixedString, type Pattern } from "./pattern.js";
import {
  canonicalizeHash,
  canonicalizeHostname,
  canonicalizeIpv6Hostname,
  canonicalizeOpaquePathname,
  canonicalizePassword,
  canonicalizePathname,
  canonicalizePort,
  canonicalizeProtocol,
  canonicalizeSearch,
  canonicalizeUsername,
  defaultPort,
  isSpecialScheme,
  specialSchemes,
} from "./url-pattern-canon.js";
import { COMPONENTS, parseConstructorString, type Component, type PatternInit } from "./url-pattern-constructor.js";
import {
  countGroups,
  DEFAULT_OPTIONS,
  HOSTNAME_OPTIONS,
  parsePatternString,
  partsPattern,
  PATHNAME_OPTIONS,
  type EncodingCallback,
  type Part,
  type PartOptions,
} from "./url-pattern-parts.js";
import { PatternSyntaxError } from "./url-pattern-tokens.js";

/**
 * A URL pattern (WHATWG URL Pattern standard) built from a Mercure 1.0
 * `urlpattern` matcher: `new URLPattern(source, hubUrl)` with ignoreCase
 * off, and `test(topic, hubUrl)`, with each component's regular expression
 * replaced by a linear-time automaton over the same language.
 */

export interface UrlPatternLimits {
  /** Groups (`:name`, `*`, `(…)`, `{…}?`) over all components. */
  readonly maxGroups: number;
  /** Automaton states per component. */
  readonly maxStates: number;
}

export class TooManyGroups extends Error {}

type ComponentTest = (value: string) => boolean;

export class UrlPattern {
  private constructor(private readonly tests: Readonly<Record<Component, ComponentTest>>) {}

  /** Throws PatternSyntaxError, TooManyGroups or AutomatonTooLarge. */
  static compile(source: string, hubUrl: URL, limits: UrlPatternLimits): UrlPattern {
    const init = parseConstructorString(source, (protocol) =>
      protocolMatchesSpecialScheme(compileComponent("protocol", protocol, canonicalizeProtocol, DEFAULT_OPTIONS, limits).test),
    );
    const processed = processInit(init, hubUrl);
    const strings = {} as Record<Component, string>;
    for (const name of COMPONENTS) strings[name] = processed[name] ?? "*";
    if (isSpecialScheme(strings.protocol) && strings.port === defaultPort(strings.protocol)) strings.port = "";

    const protocol = compileComponent("protocol", strings.protocol, canonicalizeProtocol, DEFAULT_OPTIONS, limits);
    const special = protocolMatchesSpecialScheme(protocol.test);
    const hostnameEncoding = isIpv6Pattern(strings.hostname) ? canonicalizeIpv6Hostname : canonicalizeHostname;
    const compiled = {
      protocol,
      username: compileComponent("username", strings.username, canonicalizeUsername, DEFAULT_OPTIONS, limits),
      password: compileComponent("password", strings.password, canonicalizePassword, DEFAULT_OPTIONS, limits),
      hostname: compileComponent("hostname", strings.hostname, hostnameEncoding, HOSTNAME_OPTIONS, limits),
      port: compileComponent("port", strings.port, canonicalizePort, DEFAULT_OPTIONS, limits),
      pathname: special
        ? compileComponent("pathname", strings.pathname, canonicalizePathname, PATHNAME_OPTIONS, limits)
        : compileComponent("pathname", strings.pathname, canonicalizeOpaquePathname, DEFAULT_OPTIONS, limits),
      search: compileComponent("search", strings.search, canonicalizeSearch, DEFAULT_OPTIONS, limits),
      hash: compileComponent("hash", strings.hash, canonicalizeHash, DEFAULT_OPTIONS, limits),
    };
    const groups = Object.values(compiled).reduce((n, c) => n + c.groups, 0);
    if (groups > limits.maxGroups) throw new TooManyGroups(`it has ${groups} groups and wildcards, at most ${limits.maxGroups}`);
    const tests = {} as Record<Component, ComponentTest>;
    for (const name of COMPONENTS) tests[name] = compiled[name].test;
    return new UrlPattern(tests);
  }

  /** The standard's `test(topic, hubUrl)`: false when the topic is not a URL reference against the hub's URL. */
  test(topic: string, hubHref: string): boolean {
    const url = topicComponents(topic, hubHref);
    if (url === null) return false;
    // The pathname first: it is where topics of one hub differ.
    const t = this.tests;
    return (
      t.pathname(url.pathname) &&
      t.hostname(url.hostname) &&
      t.protocol(url.protocol) &&
      t.port(url.port) &&
      t.search(url.search) &&
      t.hash(url.hash) &&
      t.username(url.username) &&
      t.password(url.password)
    );
  }
}

interface CompiledComponent {
  test: ComponentTest;
  groups: number;
}

function compileComponent(
  name: Component,
  patternString: string,
  encode: EncodingCallback,
  options: PartOptions,
  limits: UrlPatternLimits,
): CompiledComponent {
  // A component of canonical URL text never holds a line terminator (the URL parser strips or percent-encodes
  // them), so "*" (`.*`) matches every value, and is the default of every component left out.
  if (patternString === "*") return { test: () => true, groups: 0 };
  let pattern: Pattern;
  let parts: Part[];
  try {
    parts = parsePatternString(patternString, options, encode);
    pattern = partsPattern(parts, options);
  } catch (error) {
    // The component as the standard split it (a relative pathname includes the hub's directory), so positions add up.
    if (error instanceof PatternSyntaxError) throw new PatternSyntaxError(`${name} "${patternString}": ${error.message}`);
    throw error;
  }
  const fixed = fixedString(pattern);
  if (fixed !== null) return { test: (value) => value === fixed, groups: 0 };
  const automaton = new Automaton(pattern, limits.maxStates);
  return { test: (value) => automaton.matches(value), groups: countGroups(parts) };
}

function protocolMatchesSpecialScheme(test: ComponentTest): boolean {
  return specialSchemes.some((scheme) => test(scheme));
}

function isIpv6Pattern(hostname: string): boolean {
  const points = Array.from(hostname);
  if (points.length < 2) return false;
  return points[0] === "[" || ((points[0] === "{" || points[0] === "\\") && points[1] === "[");
}

/** The standard's "escape a pattern string": base URL text taken as literal pattern text. */
function escapePatternString(text: string): string {
  return text.replace(/[+*?:{}()\\]/g, "\\$&");
}

function isAbsolutePathname(pathname: string): boolean {
  if (pathname === "") return false;
  if (pathname[0] === "/") return true;
  return pathname.length >= 2 && (pathname[0] === "\\" || pathname[0] === "{") && pathname[1] === "/";
}

/** The standard's "process a URLPatternInit" for type "pattern", with the hub's URL as the base URL. */
function processInit(init: PatternInit, base: URL): PatternInit {
  const result: PatternInit = {};
  const has = (...names: Component[]) => names.some((name) => init[name] !== undefined);
  // Components not in the pattern come from the base, down to the first one the pattern gives.
  if (!has("protocol")) result.protocol = escapePatternString(base.protocol.slice(0, -1));
  if (!has("protocol", "hostname")) result.hostname = escapePatternString(base.hostname);
  if (!has("protocol", "hostname", "port")) result.port = base.port;
  if (!has("protocol", "hostname", "port", "pathname")) result.pathname = escapePatternString(base.pathname);
  if (!has("protocol", "hostname", "port", "pathname", "search")) result.search = escapePatternString(base.search.slice(1));
  if (!has("protocol", "hostname", "port", "pathname", "search", "hash")) result.hash = escapePatternString(base.hash.slice(1));
  if (init.protocol !== undefined) result.protocol = init.protocol.endsWith(":") ? init.protocol.slice(0, -1) : init.protocol;
  if (init.username !== undefined) result.username = init.username;
  if (init.password !== undefined) result.password = init.password;
  if (init.hostname !== undefined) result.hostname = init.hostname;
  if (init.port !== undefined) result.port = init.port;
  if (init.pathname !== undefined) {
    result.pathname = init.pathname;
    // A relative pathname is relative to the base's directory. (The hub's URL is http(s): never an opaque path.)
    if (base.pathname.startsWith("/") && !isAbsolutePathname(result.pathname)) {
      const basePath = escapePatternString(base.pathname);
      const slash = basePath.lastIndexOf("/");
      if (slash >= 0) result.pathname = basePath.slice(0, slash + 1) + result.pathname;
    }
  }
  if (init.search !== undefined) result.search = init.search.startsWith("?") ? init.search.slice(1) : init.search;
  if (init.hash !== undefined) result.hash = init.hash.startsWith("#") ? init.hash.slice(1) : init.hash;
  return result;
}

type TopicComponents = Record<Component, string>;

/**
 * The last topic parsed, and against which hub: fan-out tests one update's
 * topic against every URL-pattern subscription in turn, so one parse serves
 * them all.
 */
let lastTopic: string | undefined;
let lastBase: string | undefined;
let lastComponents: TopicComponents | null = null;

function topicComponents(topic: string, base: string): TopicComponents | null {
  if (topic === lastTopic && base === lastBase) return lastComponents;
  let components: TopicComponents | null = null;
  try {
    const url = new URL(topic, base);
    components = {
      protocol: url.protocol.slice(0, -1),
      username: url.username,
      password: url.password,
      hostname: url.hostname,
      port: url.port,
      pathname: url.pathname,
      search: url.search.slice(1),
      hash: url.hash.slice(1),
    };
  } catch {
    components = null;
  }
  lastTopic = topic;
  lastBase = base;
  lastComponents = components;
  return components;
}
