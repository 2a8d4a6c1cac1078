/**
 * Mercure 1.0 "Publication" and "Reserved Hub Namespace": the hub's own path
 * subtree (`/.well-known/mercure/…`, where subscription events live) is the
 * hub's alone. The test resolves the topic against the hub's URL with the
 * WHATWG URL parser (as URL patterns do), which removes dot segments, `%2e`
 * ones included; it then decodes the percent-encoded unreserved characters,
 * so `/.well-known/%6Dercure/…` and `/.well-known/mercure/../mercure/…` are
 * caught; and it compares paths only, whatever the scheme and authority, so
 * an absolute topic naming the hub's host is caught too.
 */

/** Whether the topic addresses the hub's reserved namespace (its path, or below it). */
export function inReservedNamespace(topic: string, hubUrl: URL): boolean {
  let path: string;
  try {
    path = new URL(topic, hubUrl).pathname;
  } catch {
    return false; // not a URL reference: it cannot name a hub path
  }
  const hubPath = decodeUnreserved(hubUrl.pathname).replace(/\/$/, "");
  const topicPath = decodeUnreserved(path);
  return topicPath === hubPath || topicPath.startsWith(`${hubPath}/`);
}

/** RFC 3986 6.2.2.2: %XX standing for ALPHA / DIGIT / "-" / "." / "_" / "~" is that character. */
function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(char) ? char : escape;
  });
}
