import { tokenize, type Token } from "./url-pattern-tokens.js";

/**
 * The standard's "parse a constructor string": splits a pattern string such
 * as `https://*.example.com/books/:id?*` into its components' pattern strings
 * without canonicalizing them, step for step with the standard's state
 * machine over lenient tokens (so `:id` in a hostname is a group, not a port).
 */

export const COMPONENTS = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"] as const;
export type Component = (typeof COMPONENTS)[number];
export type PatternInit = Partial<Record<Component, string>>;

type State = "init" | "authority" | "done" | Component;

/**
 * `protocolIsSpecial` tells whether a protocol pattern string matches one of
 * the special schemes (the parser needs the compiled protocol component).
 */
export function parseConstructorString(input: string, protocolIsSpecial: (protocol: string) => boolean): PatternInit {
  const points = Array.from(input);
  const tokens = tokenize(input, "lenient");
  const result: PatternInit = {};
  let componentStart = 0;
  let tokenIndex = 0;
  let tokenIncrement = 1;
  let groupDepth = 0;
  let ipv6BracketDepth = 0;
  let protocolMatchesSpecialScheme = false;
  let state = "init" as State;

  const safeToken = (at: number): Token => tokens[Math.min(at, tokens.length - 1)];
  const isNonSpecialPatternChar = (at: number, value: string) => {
    const token = safeToken(at);
    return token.value === value && (token.type === "char" || token.type === "escaped-char" || token.type === "invalid-char");
  };
  const isProtocolSuffix = () => isNonSpecialPatternChar(tokenIndex, ":");
  const nextIsAuthoritySlashes = () => isNonSpecialPatternChar(tokenIndex + 1, "/") && isNonSpecialPatternChar(tokenIndex + 2, "/");
  const isIdentityTerminator = () => isNonSpecialPatternChar(tokenIndex, "@");
  const isPasswordPrefix = () => isNonSpecialPatternChar(tokenIndex, ":");
  const isPortPrefix = () => isNonSpecialPatternChar(tokenIndex, ":");
  const isPathnameStart = () => isNonSpecialPatternChar(tokenIndex, "/");
  const isHashPrefix = () => isNonSpecialPatternChar(tokenIndex, "#");
  const isIpv6Open = () => isNonSpecialPatternChar(tokenIndex, "[");
  const isIpv6Close = () => isNonSpecialPatternChar(tokenIndex, "]");
  const isSearchPrefix = () => {
    if (isNonSpecialPatternChar(tokenIndex, "?")) return true;
    if (tokens[tokenIndex].value !== "?") return false;
    if (tokenIndex - 1 < 0) return true;
    const previous = safeToken(tokenIndex - 1).type;
    return !(previous === "name" || previous === "regexp" || previous === "close" || previous === "asterisk");
  };
  const makeComponentString = () => points.slice(safeToken(componentStart).index, tokens[tokenIndex].index).join("");
  const rewind = () => {
    tokenIndex = componentStart;
    tokenIncrement = 0;
  };
  const rewindAndSetState = (next: State) => {
    rewind();
    state = next;
  };
  const changeState = (next: State, skip: number) => {
    if (state !== "init" && state !== "authority" && state !== "done") result[state] = makeComponentString();
    if (state !== "init" && next !== "done") {
      const early = state === "protocol" || state === "authority" || state === "username" || state === "password";
      if (early && (next === "port" || next === "pathname" || next === "search" || next === "hash") && result.hostname === undefined) {
        result.hostname = "";
      }
      if ((early || state === "hostname" || state === "port") && (next === "search" || next === "hash") && result.pathname === undefined) {
        result.pathname = protocolMatchesSpecialScheme ? "/" : "";
      }
      if ((early || state === "hostname" || state === "port" || state === "pathname") && next === "hash" && result.search === undefined) {
        result.search = "";
      }
    }
    state = next;
    tokenIndex += skip;
    componentStart = tokenIndex;
    tokenIncrement = 0;
  };

  while (tokenIndex < tokens.length) {
    tokenIncrement = 1;
    if (tokens[tokenIndex].type === "end") {
      if (state === "init") {
        // No protocol: a relative pattern, starting with whichever component comes first.
        rewind();
        if (isHashPrefix()) changeState("hash", 1);
        else if (isSearchPrefix()) changeState("search", 1);
        else changeState("pathname", 0);
        tokenIndex += tokenIncrement;
        continue;
      }
      if (state === "authority") {
        rewindAndSetState("hostname");
        tokenIndex += tokenIncrement;
        continue;
      }
      changeState("done", 0);
      break;
    }
    if (tokens[tokenIndex].type === "open") {
      // No component boundary inside "{…}".
      groupDepth++;
      tokenIndex += tokenIncrement;
      continue;
    }
    if (groupDepth > 0) {
      if (tokens[tokenIndex].type === "close") {
        groupDepth--;
      } else {
        tokenIndex += tokenIncrement;
        continue;
      }
    }
    switch (state) {
      case "init":
        if (isProtocolSuffix()) rewindAndSetState("protocol");
        break;
      case "protocol":
        if (isProtocolSuffix()) {
          protocolMatchesSpecialScheme = protocolIsSpecial(makeComponentString());
          let next: State = "pathname";
          let skip = 1;
          if (nextIsAuthoritySlashes()) {
            next = "authority";
            skip = 3;
          } else if (protocolMatchesSpecialScheme) {
            next = "authority";
          }
          changeState(next, skip);
        }
        break;
      case "authority":
        if (isIdentityTerminator()) rewindAndSetState("username");
        else if (isPathnameStart() || isSearchPrefix() || isHashPrefix()) rewindAndSetState("hostname");
        break;
      case "username":
        if (isPasswordPrefix()) changeState("password", 1);
        else if (isIdentityTerminator()) changeState("hostname", 1);
        break;
      case "password":
        if (isIdentityTerminator()) changeState("hostname", 1);
        break;
      case "hostname":
        if (isIpv6Open()) ipv6BracketDepth++;
        else if (isIpv6Close()) ipv6BracketDepth--;
        else if (isPortPrefix() && ipv6BracketDepth === 0) changeState("port", 1);
        else if (isPathnameStart()) changeState("pathname", 0);
        else if (isSearchPrefix()) changeState("search", 1);
        else if (isHashPrefix()) changeState("hash", 1);
        break;
      case "port":
        if (isPathnameStart()) changeState("pathname", 0);
        else if (isSearchPrefix()) changeState("search", 1);
        else if (isHashPrefix()) changeState("hash", 1);
        break;
      case "pathname":
        if (isSearchPrefix()) changeState("search", 1);
        else if (isHashPrefix()) changeState("hash", 1);
        break;
      case "search":
        if (isHashPrefix()) changeState("hash", 1);
        break;
      case "hash":
      case "done":
        break;
    }
    tokenIndex += tokenIncrement;
  }
  // A hostname without a port means the default port, not any port ("https://*:*" is any port).
  if (result.hostname !== undefined && result.port === undefined) result.port = "";
  return result;
}
