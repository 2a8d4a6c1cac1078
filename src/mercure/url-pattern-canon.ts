import { PatternSyntaxError } from "./url-pattern-tokens.js";

/**
 * The standard's encoding callbacks ("Canonicalization"): each fixed text
 * piece of a pattern is canonicalized as the URL parser would canonicalize
 * that component of a topic, so `https://EXAMPLE.com/caf\u00e9` matches the
 * topic `https://example.com/caf%C3%A9`. Node's WHATWG URL setters run the
 * same parser states the standard names (hostname state, path start state…).
 */

const DUMMY = "https://dummy.invalid/";
const SPECIAL_SCHEMES = ["ftp", "file", "http", "https", "ws", "wss"] as const;
const DEFAULT_PORTS: Record<string, string> = { ftp: "21", http: "80", https: "443", ws: "80", wss: "443" };

export const specialSchemes: readonly string[] = SPECIAL_SCHEMES;

export function isSpecialScheme(scheme: string): boolean {
  return (SPECIAL_SCHEMES as readonly string[]).includes(scheme);
}

export function defaultPort(scheme: string): string | undefined {
  return DEFAULT_PORTS[scheme];
}

export function canonicalizeProtocol(value: string): string {
  if (value === "") return value;
  try {
    return new URL(`${value}://dummy.invalid/`).protocol.slice(0, -1);
  } catch {
    throw new PatternSyntaxError(`"${value}" is not a scheme`);
  }
}

export function canonicalizeUsername(value: string): string {
  if (value === "") return value;
  const url = new URL(DUMMY);
  url.username = value;
  return url.username;
}

export function canonicalizePassword(value: string): string {
  if (value === "") return value;
  const url = new URL(DUMMY);
  url.password = value;
  return url.password;
}

/** Code points after which the host parser in hostname state fails or stops (forbidden host code points). */
const NOT_IN_HOSTNAME = /[\u0000-\u0020#%/:<>?@[\\\]^|\u007f]/;

export function canonicalizeHostname(value: string): string {
  if (value === "") return value;
  const forbidden = NOT_IN_HOSTNAME.exec(value);
  if (forbidden !== null) throw new PatternSyntaxError(`a hostname cannot contain ${JSON.stringify(forbidden[0])}`);
  // The setter ignores a value it cannot parse; two different dummies tell a failure from a success.
  const a = new URL(DUMMY);
  const b = new URL("https://other.invalid/");
  a.hostname = value;
  b.hostname = value;
  if (a.hostname !== b.hostname) throw new PatternSyntaxError(`"${value}" is not a valid hostname`);
  return a.hostname;
}

export function canonicalizeIpv6Hostname(value: string): string {
  if (!/^[0-9A-Fa-f[\]:]*$/.test(value)) throw new PatternSyntaxError(`"${value}" is not an IPv6 address (hexadecimal digits and colons in brackets)`);
  return value.toLowerCase();
}

export function canonicalizePort(value: string): string {
  if (value === "") return value;
  // The port state stops at the first non-digit; a pattern with one is refused rather than silently cut.
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535) throw new PatternSyntaxError(`"${value}" is not a port (digits, at most 65535)`);
  return String(Number(value));
}

export function canonicalizePathname(value: string): string {
  if (value === "") return value;
  const leadingSlash = value[0] === "/";
  const url = new URL(DUMMY);
  url.pathname = leadingSlash ? value : `/-${value}`;
  return leadingSlash ? url.pathname : url.pathname.slice(2);
}

/** The opaque path state percent-encodes the C0 control set (C0 controls and everything above `~`) and nothing else. */
export function canonicalizeOpaquePathname(value: string): string {
  let out = "";
  for (const point of value) {
    const code = point.codePointAt(0)!;
    out += code < 0x20 || code > 0x7e ? percentEncode(point) : point;
  }
  return out;
}

export function canonicalizeSearch(value: string): string {
  if (value === "") return value;
  const url = new URL(DUMMY);
  url.search = `?${value}`; // the setter drops one leading "?", and only that one
  return url.search.slice(1);
}

export function canonicalizeHash(value: string): string {
  if (value === "") return value;
  const url = new URL(DUMMY);
  url.hash = `#${value}`;
  return url.hash.slice(1);
}

function percentEncode(point: string): string {
  // A lone surrogate cannot be in a pattern: 1.0 refuses them in every matcher before it gets here.
  return [...Buffer.from(point, "utf8")].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");
}
